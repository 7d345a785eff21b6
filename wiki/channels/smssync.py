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
RESULT_BATCH = 100
MAX_HANDOUTS = 10  # a message handed out this often and never confirmed stays unsent, its error shown
SENT_OK = (-1, 0)  # Android's Activity.RESULT_OK, as SMSSync reports it (0 from some servers' examples)


def _secret_if_given(request: Request) -> None:
    """SMSSync sends its secret on ?task=sent and ?task=result only in some versions: when it
    does, it must be right."""
    given = request.args.get("secret")
    if given is not None and not secret_matches(given, current_app.config["SMSSYNC_SECRET"]):
        raise wrong_secret(SMSSync.label)


def _json_body(request: Request) -> dict:
    try:
        data = json.loads(body(request).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(_("The body is not valid JSON (UTF-8).")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return data


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
        """GET ?task=send: the SMS waiting to go out through the phone; GET ?task=result: the
        uuids whose sending the server would like the phone's result for."""
        if not secret_matches(request.args.get("secret"), current_app.config["SMSSYNC_SECRET"]):
            raise wrong_secret(self.label)
        if request.args.get("task") == "result":
            return jsonify({"message_uuids": self._awaiting_results()})
        if request.args.get("task") != "send":
            return jsonify({"payload": {"success": True, "error": None}})
        messages = self._hand_out()
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

    def _hand_out(self) -> list[dict]:
        """Claim up to TASK_BATCH waiting messages (never handed out, or handed out and not
        confirmed within SMSSYNC_RESEND_SECONDS) and return them as SMSSync's tasks. The claim
        is one UPDATE under the write lock that re-checks the condition, so two phones (or a
        poll retried) polling at once never get the same message."""
        begin_write()
        now = utcnow()
        claimable = (
            OutboundMessage.channel == self.name,
            OutboundMessage.sent_at.is_(None),
            OutboundMessage.attempts < MAX_HANDOUTS,
            or_(
                OutboundMessage.claimed_at.is_(None),
                OutboundMessage.claimed_at < now - timedelta(seconds=current_app.config["SMSSYNC_RESEND_SECONDS"]),
            ),
        )
        ids = select(OutboundMessage.id).where(*claimable).order_by(OutboundMessage.id).limit(TASK_BATCH)
        claimed = db.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids.scalar_subquery()), *claimable)
            .values(claimed_at=now, attempts=OutboundMessage.attempts + 1)
            .returning(OutboundMessage.id, OutboundMessage.recipient, OutboundMessage.text, OutboundMessage.uuid)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        return [{"to": row.recipient, "message": row.text, "uuid": row.uuid} for row in sorted(claimed)]

    def _awaiting_results(self) -> list[str]:
        """Messages the phone confirmed in the last day without reporting how sending went."""
        since = utcnow() - timedelta(days=1)
        return list(
            db.session.scalars(
                select(OutboundMessage.uuid)
                .where(
                    OutboundMessage.channel == self.name,
                    OutboundMessage.sent_at >= since,
                    OutboundMessage.gateway_id == "",
                )
                .order_by(OutboundMessage.id)
                .limit(RESULT_BATCH)
            )
        )

    def sent(self, request: Request) -> Response:
        """POST ?task=sent {"queued_messages": [uuid, ...]}: the phone has queued them for sending.
        Confirmed, a message is never handed out again (unless the phone reports that sending
        it failed, see `results`)."""
        _secret_if_given(request)
        uuids = _json_body(request).get("queued_messages")
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

    def results(self, request: Request) -> Response:
        """POST ?task=result {"message_result": [{"uuid", "sent_result_code", "sent_result_message",
        "delivered_result_code", "delivered_result_message"}, ...]}: how sending went. A message
        the phone could not send (no service, radio off ...) goes back in the queue to be handed
        out again; one it sent is kept sent, with its result."""
        _secret_if_given(request)
        results = _json_body(request).get("message_result")
        if not isinstance(results, list) or not all(
            isinstance(item, dict) and isinstance(item.get("uuid"), str) for item in results
        ):
            raise InvalidInput(
                _("message_result must be a list of results, each with the message's uuid."), field="message_result"
            )
        begin_write()
        for item in results[:1000]:
            message = db.session.scalar(
                select(OutboundMessage).where(
                    OutboundMessage.uuid == item["uuid"][:36],
                    OutboundMessage.channel == self.name,
                    OutboundMessage.claimed_at.isnot(None),
                )
            )
            if message is None:
                continue
            code = item.get("sent_result_code")
            text = str(item.get("sent_result_message") or "")[:500]
            if code in SENT_OK or code is None:
                delivered = item.get("delivered_result_code")
                message.sent_at = message.sent_at or utcnow()
                message.gateway_id = f"smssync:sent:{delivered if isinstance(delivered, int) else ''}"[:255]
                message.last_error = ""
            elif message.gateway_id == "" or message.sent_at is None:  # not sent: hand it out again
                message.sent_at = message.claimed_at = None
                message.last_error = f"the phone could not send it ({code}: {text})"[:2000]
        db.session.commit()
        return jsonify({"payload": {"success": True, "error": None}})
