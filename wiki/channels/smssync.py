"""SMSSync, the Android SMS gateway Ushahidi uses: the phone posts each SMS it receives as a
form (secret, from, message, message_id, sent_to, device_id, sent_timestamp in milliseconds)
and expects {"payload": {"success": true, "error": null}}. It polls GET ?task=send&secret=...
for SMS to send ({"payload": {"task": "send", "secret": ..., "messages": [{"to", "message",
"uuid"}]}}) and confirms with POST ?task=sent {"queued_messages": [uuid, ...]}, answered with
{"message_uuids": [...]}.

SMSSync sends no secret with ?task=sent: that request can only confirm uuids (random, 122
bits) that the phone received through a poll that carried the secret. A message handed out
and not confirmed within SMSSYNC_RESEND_SECONDS is handed out again (the phone may have died
with it): at least once, so a phone that sent it without confirming sends it twice.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask import Request, Response, current_app, jsonify
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from ..database import begin_write
from ..errors import BadRequest, DomainError, InvalidInput
from ..extensions import db
from ..models import OutboundMessage
from ..models.base import utcnow
from .base import Channel, Incoming, secret_matches, wrong_secret
from .reading import body, form

TASK_BATCH = 20


class SMSSync(Channel):
    name = "smssync"
    label = "SMSSync"
    can_send = True
    pulls_outgoing = True

    def configured(self) -> bool:
        return bool(current_app.config["SMSSYNC_SECRET"])

    def receive(self, request: Request) -> list[Incoming]:
        if request.args.get("task") == "sent":
            return []  # handled by `sent`, see the view
        params, raw = form(request)
        fields = dict(params)
        if not secret_matches(fields.get("secret"), current_app.config["SMSSYNC_SECRET"]):
            raise wrong_secret(self.label)
        sender = fields.get("from", "").strip()
        if not sender:
            raise InvalidInput(_("from is missing: the number that sent the SMS."), field="from")
        if "message" not in fields:
            raise InvalidInput(_("message is missing: the text of the SMS."), field="message")
        sent_at = None
        if fields.get("sent_timestamp"):
            try:
                milliseconds = int(fields["sent_timestamp"])
                sent_at = datetime.fromtimestamp(milliseconds / 1000 if milliseconds > 10**11 else milliseconds, UTC)
            except (ValueError, OverflowError, OSError):
                raise InvalidInput(
                    _("sent_timestamp must be a UNIX time (in milliseconds, as SMSSync sends it)."),
                    field="sent_timestamp",
                ) from None
        message_id = fields.get("message_id", "").strip()
        if not message_id:
            raise InvalidInput(_("message_id is missing: SMSSync 2 sends one with every SMS."), field="message_id")
        device = fields.get("device_id", "").strip()
        return [
            Incoming(
                external_id=f"{device}:{message_id}"[:255] if device else message_id[:255],
                sender=sender[:254],
                recipient=fields.get("sent_to", "")[:254],
                text=fields["message"],
                raw=raw,
                sent_at=sent_at,
            )
        ]

    def answer(self, stored, request: Request) -> Response:
        return jsonify({"payload": {"success": True, "error": None}})

    def refuse(self, error: DomainError, request: Request) -> Response:
        response = jsonify({"payload": {"success": False, "error": error.message}})
        response.status_code = error.status
        return response

    def poll(self, request: Request) -> Response:
        """GET ?task=send: the SMS waiting to go out through the phone."""
        if not secret_matches(request.args.get("secret"), current_app.config["SMSSYNC_SECRET"]):
            raise wrong_secret(self.label)
        if request.args.get("task") != "send":
            return jsonify({"payload": {"success": True, "error": None}})
        resend_before = utcnow() - timedelta(seconds=current_app.config["SMSSYNC_RESEND_SECONDS"])
        waiting = (
            select(OutboundMessage.id)
            .where(
                OutboundMessage.channel == self.name,
                OutboundMessage.sent_at.is_(None),
                or_(OutboundMessage.claimed_at.is_(None), OutboundMessage.claimed_at < resend_before),
            )
            .order_by(OutboundMessage.id)
            .limit(TASK_BATCH)
        )
        ids = db.session.scalars(waiting).all()
        begin_write()
        messages = []
        if ids:
            db.session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(ids), OutboundMessage.sent_at.is_(None))
                .values(claimed_at=utcnow(), attempts=OutboundMessage.attempts + 1)
            )
            rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))).all()
            messages = [{"to": row.recipient, "message": row.text, "uuid": row.uuid} for row in rows]
            db.session.commit()
        return jsonify(
            {
                "payload": {
                    "task": "send",
                    "success": True,
                    "secret": current_app.config["SMSSYNC_SECRET"],
                    "messages": messages,
                }
            }
        )

    def sent(self, request: Request) -> Response:
        """POST ?task=sent {"queued_messages": [uuid, ...]}: the phone has queued them for sending."""
        raw = body(request)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest(_("The body is not valid JSON (UTF-8).")) from None
        uuids = data.get("queued_messages") if isinstance(data, dict) else None
        if not isinstance(uuids, list) or not all(isinstance(uuid, str) for uuid in uuids):
            raise InvalidInput(_("queued_messages must be a list of message uuids."), field="queued_messages")
        uuids = [uuid[:36] for uuid in uuids[:1000]]
        known = db.session.scalars(
            select(OutboundMessage.uuid).where(
                OutboundMessage.uuid.in_(uuids),
                OutboundMessage.channel == self.name,
                OutboundMessage.claimed_at.isnot(None),
            )
        ).all()
        begin_write()
        if known:
            db.session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.uuid.in_(known), OutboundMessage.sent_at.is_(None))
                .values(sent_at=utcnow(), last_error="")
            )
            db.session.commit()
        return jsonify({"message_uuids": list(known)})
