"""deploy/ stays in step with the code: every setting in the environment file, the nginx headers
snippet as `crisiswiki nginx-headers` makes it for the defaults, the units naming real commands."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from plugins.validation.config import DEFAULTS as VALIDATION_DEFAULTS
from plugins.validation.truth.proposals import CONFIG_DEFAULTS as TRUTH_DEFAULTS
from wiki.config import DEFAULTS
from wiki.console import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_the_environment_file_lists_and_explains_every_setting():
    text = (DEPLOY / "crisiswiki.env").read_text()
    lines = text.splitlines()
    for name in [*DEFAULTS, *VALIDATION_DEFAULTS, *TRUTH_DEFAULTS]:
        found = [n for n, line in enumerate(lines) if re.match(rf"#?CRISISWIKI_{name}=", line)]
        assert found, f"deploy/crisiswiki.env does not list CRISISWIKI_{name}"
        assert any(lines[n - 1].startswith("# ") for n in found), f"CRISISWIKI_{name} has no comment above it"


def test_the_committed_headers_snippet_is_what_the_command_makes_for_the_defaults(tmp_path):
    result = CliRunner().invoke(
        main, ["nginx-headers"], env={"CRISISWIKI_INSTANCE_PATH": str(tmp_path), "CRISISWIKI_TESTING": "true"}
    )
    assert result.exit_code == 0, result.output
    assert (DEPLOY / "nginx" / "crisiswiki-security-headers.conf").read_text() == result.output


def test_the_units_run_the_commands_they_name(tmp_path):
    commands = {
        "crisiswiki@.service": "crisiswiki serve",
        "crisiswiki-worker.service": "crisiswiki worker",
        "crisiswiki-smtpd.service": "crisiswiki smtpd",
        "crisiswiki-backup.service": "crisiswiki backup",
    }
    for unit, command in commands.items():
        text = (DEPLOY / "systemd" / unit).read_text()
        assert f"/opt/crisiswiki/venv/bin/{command}" in text
        assert "EnvironmentFile=/etc/crisiswiki/crisiswiki.env" in text
    with CliRunner().isolation(env={"CRISISWIKI_INSTANCE_PATH": str(tmp_path), "CRISISWIKI_TESTING": "true"}):
        listed = set(main.list_commands(main.make_context("crisiswiki", ["--help"], resilient_parsing=True)))
    assert {"serve", "worker", "backup", "restore", "db", "nginx-headers"} <= listed
