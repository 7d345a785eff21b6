"""Finding the source of a report, so that each source builds one track record."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import is_sqlite
from ..extensions import db
from ..models import Source, SourceContact, User
from .input import SourceInput, normalise_contact


def contact_hash(contact: str) -> str:
    return hashlib.sha256(normalise_contact(contact).encode()).hexdigest()


def find_or_create_source(given: SourceInput, user: User | None) -> Source:
    """The logged-in user's source, else the source known by this contact, else a new one.

    A report with neither a user nor a contact gets a fresh anonymous source: it cannot be
    tied to anyone, so it builds no track record (and counts as weak evidence)."""
    if user is not None and getattr(user, "is_authenticated", False):
        return _get_or_insert(
            Source.user_id == user.id,
            lambda: Source(
                user_id=user.id,
                name=given.name or user.name,
                organisation=given.organisation,
                channel=given.channel,
                contact=given.contact or user.email,
            ),
        )
    if given.contact:
        digest = contact_hash(given.contact)
        linked = db.session.scalar(select(SourceContact.source_id).where(SourceContact.contact_hash == digest))
        if linked is not None:  # a verifier linked this number or address to a source
            return db.session.get(Source, linked)
        source = _get_or_insert(
            Source.contact_hash == digest,
            lambda: Source(
                contact_hash=digest,
                contact=given.contact,
                name=given.name,
                organisation=given.organisation,
                channel=given.channel,
            ),
        )
        if given.name and not source.name:
            source.name = given.name
        return source
    source = Source(name=given.name, organisation=given.organisation, channel=given.channel)
    db.session.add(source)
    db.session.flush()
    return source


def _get_or_insert(condition, make) -> Source:
    source = db.session.scalar(select(Source).where(condition))
    if source is not None:
        return source
    if is_sqlite():  # writers are serialised: nobody can insert the same source meanwhile
        source = make()
        db.session.add(source)
        return source
    try:
        with db.session.begin_nested():
            source = make()
            db.session.add(source)
    except IntegrityError:
        # Another request created the same source a moment ago.
        source = db.session.scalar(select(Source).where(condition))
    return source
