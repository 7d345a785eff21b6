"""`crisiswiki nginx-headers`: the app's security headers as nginx `add_header` lines, for the
answers nginx gives itself (cached pages, static files; deploy/nginx/crisiswiki-locations.conf),
so that they carry exactly what the app's own answers carry (wiki/security.py)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..security import security_headers


def header_lines(app) -> list[str]:
    lines = []
    for name, value in security_headers(app).items():
        if '"' in value or "\n" in value:
            raise click.ClickException(f"{name} holds a quote or a line break; nginx cannot be given it.")
        lines.append(f'add_header {name} "{value}";')
    # Over HTTPS only: deploy/nginx/crisiswiki-maps.conf sets $crisiswiki_hsts (empty over HTTP).
    lines.append("add_header Strict-Transport-Security $crisiswiki_hsts;")
    return lines


@click.command("nginx-headers")
@with_appcontext
def nginx_headers_command() -> None:
    """Print the security headers as nginx add_header lines (for /etc/nginx/snippets/)."""
    click.echo("# Made by `crisiswiki nginx-headers` from this site's settings; make it again after")
    click.echo("# changing MAP_TILE_URL or CSP_EXTRA_IMG_SOURCES.")
    for line in header_lines(current_app):
        click.echo(line)
