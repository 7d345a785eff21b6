"""The core's commands (`crisiswiki <command>`, also `flask --app wiki <command>`); the
`crisiswiki` program itself is wiki.console."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from .command_policy import own_transactions
from .errors import DomainError
from .extensions import db
from .migrations import upgrade_all
from .models import Crisis, User
from .models.users import ROLES


@click.command("init-db")
@click.option("--demo/--no-demo", default=True, help="Load the demo crisis into an empty database.")
@with_appcontext
def init_db(demo: bool) -> None:
    """Apply database migrations (and load the demo crisis into an empty database)."""
    upgrade_all()
    click.echo(f"Database is up to date: {_safe_url()}")
    if demo:
        from .demo import load_demo

        if db.session.scalar(select(func.count()).select_from(Crisis)):
            click.echo("The database already holds crises; the demo was not loaded.")
        else:
            _report_demo(load_demo(_demo_admin()))
    from .search.indexer import build_if_missing

    if build_if_missing():
        click.echo("Built the search index.")


def _safe_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def _demo_admin_file() -> Path:
    return Path(current_app.instance_path) / "demo-admin.txt"


def _demo_admin() -> User:
    """The demo admin, created with a random password that is kept in the instance folder so
    `make run` can print it every time."""
    user = db.session.scalar(select(User).where(User.username == "admin"))
    if user is not None:
        return user
    from .auth.accounts import create_user

    password = secrets.token_urlsafe(12)
    user = create_user("admin", password, role="admin", display_name="Demo administrator")
    path = _demo_admin_file()
    path.write_text(f"admin {password}\n")
    path.chmod(0o600)
    return user


@click.command("demo")
@click.option("--reset", is_flag=True, help="First delete everything: crises, pages, reports, users, uploads.")
@click.option("--yes", is_flag=True, help="With --reset: do not ask for confirmation.")
@with_appcontext
def demo_command(reset: bool, yes: bool) -> None:
    """Load the demo crises beside what the database holds (unless they are there already; with
    --reset, after emptying it)."""
    from .demo import DEMO_SLUGS, load_demo
    from .demo.reset import wipe_database
    from .search.indexer import build_if_missing, rebuild

    if reset:
        if not yes:
            click.confirm(f"Delete everything in {_safe_url()} and load the demo?", abort=True)
        wipe_database()
    elif db.session.scalar(select(func.count()).select_from(Crisis).where(Crisis.slug.in_(DEMO_SLUGS))):
        click.echo(
            "Error: the demo crises are there already; use --reset to empty the database and load them again.", err=True
        )
        sys.exit(1)
    db.session.remove()
    _report_demo(load_demo(_demo_admin()))
    if reset:
        rebuild()  # the wipe left the index behind
    else:
        build_if_missing()  # the demo's pages are in the search queue: the writers index them
    demo_login.callback()


def _report_demo(summary) -> None:
    seconds = sum(summary.seconds.values())
    click.echo(
        f"Loaded the demo crisis: {', '.join(summary.crises)}: {summary.reports:,} field reports "
        f"({summary.outcomes:,} verified or refuted, {summary.gradings:,} graded), {summary.inbox} inbox messages, "
        f"{summary.subscriptions} alert subscriptions, in {seconds:.1f} s."
    )
    for step, took in summary.seconds.items():
        click.echo(f"  {step}: {took:.1f} s")


@click.command("demo-login")
@with_appcontext
def demo_login() -> None:
    """Print the demo administrator's login, if the demo was loaded."""
    from .demo.people import read_logins

    path = _demo_admin_file()
    if path.exists():
        username, password = path.read_text().split()
        click.echo(f"Demo administrator: username {username}, password {password}")
    for username, password, job in read_logins():
        click.echo(f"  {job}: username {username}, password {password}")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="volunteer", show_default=True)
@click.option("--password", help="Omit to be prompted (recommended: it keeps the password out of shell history).")
@click.option("--display-name", default="")
@click.option("--email", default=None, help="For password reset mails.")
@click.option("--token", is_flag=True, help="Also issue a personal API token (scope full) and print it.")
@with_appcontext
def create_user_command(
    username: str, role: str, password: str | None, display_name: str, email: str | None, token: bool
) -> None:
    """Create a user with a role: admin, coordinator, verifier or volunteer."""
    from .auth.accounts import create_user
    from .models import ApiToken

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(username, password, role=role, display_name=display_name, email=email)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Created {user.username} ({user.role}).")
    if token:
        _, plain = ApiToken.issue(user, "created on the command line")
        db.session.commit()
        click.echo(f"API token (shown once): {plain}")


@own_transactions("it becomes gunicorn (exec); each request follows the request policy")
@click.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve_command(gunicorn_args: tuple[str, ...]) -> None:
    """Serve the app with gunicorn and the package's settings (wiki/gunicorn_config.py:
    CRISISWIKI_BIND, CRISISWIKI_WORKERS, ...); extra arguments go to gunicorn."""
    import importlib.util
    import os

    # gunicorn of this very Python (python -m gunicorn), whatever else is on PATH.
    if importlib.util.find_spec("gunicorn") is None:
        raise click.ClickException("gunicorn is not installed for this Python.")
    python = sys.executable
    os.execv(python, [python, "-m", "gunicorn", "--config", "python:wiki.gunicorn_config", *gunicorn_args])


def register_commands(app: Flask) -> None:
    from .backups import backup_command, restore_command
    from .hdx.cli import publish_hdx_command
    from .mail.cli import send_mail_command
    from .operations.nginx import nginx_headers_command
    from .reports.import_command import import_reports_command

    for command in (
        init_db,
        demo_command,
        demo_login,
        create_user_command,
        import_reports_command,
        publish_hdx_command,
        send_mail_command,
        backup_command,
        restore_command,
        nginx_headers_command,
        serve_command,
    ):
        app.cli.add_command(command)
