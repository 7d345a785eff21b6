"""Internal notes on reports, for verifiers and coordinators only: never shown to anyone else,
never exported, never searched. `@username` mentions a verifier, coordinator or admin, who gets
an in-app notice (and, with an e-mail address, a mail that links to the report and holds no
word of the note)."""

from __future__ import annotations

import re

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from wiki.toolkit import InvalidInput, Report, TooLarge, User, can, db, queue_mail, utcnow

from .models import Note, Notice

NOTE_MAX = 4000
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._-]{1,79})")


def can_discuss(viewer) -> bool:
    """Notes are for verifiers and coordinators (and admins)."""
    return can("assess_report", viewer) or can("triage_report", viewer)


def require_discuss(viewer) -> None:
    from wiki.toolkit import require

    if not can_discuss(viewer):
        require("assess_report", viewer)


def mentioned(body: str) -> list[User]:
    """The users a note mentions who may read notes (others are not told: they could not read it)."""
    names = {name.rstrip(".").lower() for name in MENTION.findall(body)}
    if not names:
        return []
    users = db.session.scalars(select(User).where(func.lower(User.username).in_(names), User.active.is_(True)))
    return [user for user in users if can_discuss(user)]


def add_note(report: Report, body, author: User) -> Note:
    require_discuss(author)
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput(_("Write the note."), field="body")
    body = body.strip()
    if len(body) > NOTE_MAX:
        raise TooLarge(_("A note has at most %(n)d characters.", n=NOTE_MAX), field="body")
    note = Note(report_id=report.id, author_id=author.id, body=body)
    db.session.add(note)
    db.session.flush()
    link = url_for("reports.view", report_id=report.id, _external=True)
    for user in mentioned(body):
        if user.id == author.id:
            continue
        db.session.add(
            Notice(user_id=user.id, kind="mention", report_id=report.id, note_id=note.id, actor_id=author.id)
        )
        if user.email:
            queue_mail(
                user.email,
                _("%(name)s mentioned you on report %(id)d", name=author.name, id=report.id),
                _(
                    "%(name)s mentioned you in a note on report %(id)d:\n%(link)s",
                    name=author.name,
                    id=report.id,
                    link=link,
                ),
            )
    db.session.commit()
    return note


def notes_of(report_id: int) -> list[Note]:
    return list(db.session.scalars(select(Note).where(Note.report_id == report_id).order_by(Note.created_at, Note.id)))


def notices_for(user: User, limit: int = 100) -> list[Notice]:
    return list(
        db.session.scalars(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id.desc()).limit(limit))
    )


def unread_count(user: User) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        db.session.scalar(
            select(func.count()).select_from(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
        )
        or 0
    )


def mark_read(user: User) -> None:
    db.session.execute(
        update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None)).values(read_at=utcnow())
    )
    db.session.commit()
