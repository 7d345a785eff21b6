"""Polling an existing mailbox over IMAP (imap-tools): each unseen message is stored like one
that came over SMTP (its Message-ID makes a second fetch of it the same message), then flagged
\\Seen, so a crash between the two stores nothing twice and loses nothing."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted

from .mail import MailRefused, store_mail


@dataclass
class Fetched:
    stored: int = 0
    retries: int = 0
    refused: int = 0


def _mailbox():
    config = current_app.config
    host, port = config["IMAP_HOST"], config["IMAP_PORT"]
    if config["IMAP_SECURITY"] == "ssl":
        return MailBox(host, port)
    if config["IMAP_SECURITY"] == "starttls":
        return MailBoxStartTls(host, port)
    return MailBoxUnencrypted(host, port)


def fetch_mail(limit: int = 500) -> Fetched:
    config = current_app.config
    done = Fetched()
    address = config["IMAP_ADDRESS"] or config["IMAP_USER"]
    with _mailbox().login(config["IMAP_USER"], config["IMAP_PASSWORD"], initial_folder=config["IMAP_FOLDER"]) as box:
        uids = box.uids(AND(seen=False))[:limit]
        for uid in uids:
            for message in box.fetch(AND(uid=uid), mark_seen=False, bulk=False):
                raw = message.obj.as_bytes()
                try:
                    _message_id, retry = store_mail(raw, [], mailbox=address or config["IMAP_USER"])
                except MailRefused as refused:
                    current_app.logger.warning("mail %s refused: %s", uid, refused.text)
                    done.refused += 1
                else:
                    done.retries += retry
                    done.stored += not retry
                box.flag([uid], "\\Seen", True)
    return done
