"""Reports as they arrive in a crisis: SMS gateways (Twilio, SMSSync, RapidPro, any webhook) and
mail (an SMTP listener, IMAP polling) into a coordinators' inbox per crisis.

Each gateway is a channel (wiki.channels.base.Channel) registered through the
`register_channels` hook. A message is stored raw before the gateway gets its answer
(wiki.channels.intake), then routed, located and acknowledged by a background job
(wiki.channels.processing); coordinators turn messages into reports in the inbox
(wiki.channels.inbox). Replies, acknowledgements and other features' SMS (`send_sms`) go out
through wiki.channels.outbox.
"""

from .outbox import send_sms

__all__ = ["send_sms"]
