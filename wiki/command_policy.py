"""Every `crisiswiki` command writes under the write discipline, by construction.

A command runs outside any request, so wiki.database's rule for requests (BEGIN IMMEDIATE for
POST, PUT, PATCH, DELETE) does not reach it. A command that reads, then writes in the same
plain transaction fails with "database is locked" on SQLite when a server wrote in between:
`crisiswiki create-user` did, every time, during an intake of reports. So every command, the
core's, the plugins' and Flask-Migrate's, runs by default with the write lock taken up front
for each of its transactions (`write_lock_up_front()`, the policy `write_transaction()` uses),
and, on PostgreSQL, run again after a short logged wait when a serialization failure or a
deadlock rolled it back before it committed any write (`retry_conflicts`). A new command is
safe without anyone thinking of it.

The few commands whose transactions are already their own say so with `@own_transactions`
and a reason: servers and the background jobs' code (their writes are in
`write_transaction()`, their reads plain, exactly as in a server process, so that a long read
or a slow SMTP or IMAP exchange does not hold the write lock). WRITE_CHECK=raise makes any
write of theirs outside the lock fail at once (the load tests run them that way).

Where the commands are found: `crisiswiki` (wiki.console's group) and the app's own `app.cli`
(`flask --app wiki`, the test runner) both hand out commands through `under_policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from .database import database_unreachable, retry_conflicts, write_lock_up_front

C = TypeVar("C", bound=click.Command)
OWN_TRANSACTIONS = "crisiswiki_own_transactions"  # attribute: why a command manages its own transactions
_WRAPPED = "crisiswiki_under_policy"
# Flask's own commands, which cannot be decorated where they are defined.
FOREIGN_OWN_TRANSACTIONS = {
    "run": "Flask's development server: each request follows the request policy",
    "shell": "interactive: a transaction left open while someone types would hold the write lock; "
    "write inside `with write_transaction():`",
}


def own_transactions(reason: str) -> Callable[[C], C]:
    """Mark a command whose transactions are its own (see the module docstring); `reason` says why."""

    def mark(command: C) -> C:
        setattr(command, OWN_TRANSACTIONS, reason)
        return command

    return mark


def own_transactions_reason(command: click.Command) -> str | None:
    return getattr(command, OWN_TRANSACTIONS, None) or (
        FOREIGN_OWN_TRANSACTIONS.get(command.name or "") if command.callback is not None else None
    )


def under_policy(command: C) -> C:
    """Make `command` (and every subcommand of a group) run under the write policy; once."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            under_policy(sub)
        return command
    if getattr(command, _WRAPPED, False) or own_transactions_reason(command):
        return command
    invoke = command.invoke

    def invoke_under_policy(ctx: click.Context):
        try:
            with write_lock_up_front():
                return retry_conflicts(lambda: invoke(ctx), ctx.command_path)
        except SQLAlchemyError as error:
            if not database_unreachable(error):
                raise
            reason = getattr(error, "orig", None) or error
            raise click.ClickException(
                f"The database cannot be reached (it may be restarting): {str(reason).strip()}\n"
                "Run the command again once it is back."
            ) from None

    command.invoke = invoke_under_policy  # type: ignore[method-assign]
    setattr(command, _WRAPPED, True)
    return command


def runs_under_policy(command: click.Command) -> bool:
    """Whether `command` takes the write lock up front (else it has a reason of its own)."""
    return bool(getattr(command, _WRAPPED, False))


class PolicyGroup(AppGroup):
    """The app's command group (`app.cli`): hands out its commands under the policy."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return under_policy(command) if command is not None else None
