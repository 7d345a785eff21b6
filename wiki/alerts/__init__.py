"""Alerts that reach responders: subscriptions by area, sector and trust, delivered by e-mail,
webhook, Atom feed and SMS, each alert once.

How a change becomes an alert:

1. The change (a report stored, verified or moved; a score written; a page or layer saved)
   writes an event into `alert_events` in its own transaction (`events`, through the
   *_before_commit hooks): an outbox, so no committed change is missed and none that rolled
   back is announced.
2. The worker's "alerts" job (`jobs`) matches events against the subscriptions (`matcher`, with
   the pure `matching`: bounding boxes in an STRtree first, then the exact geometry) and stores
   one delivery per subscription and subject; a unique constraint makes that at most once.
3. The same job makes messages of the deliveries that are due (`compose`, with `schedule`:
   immediately but at most one message a minute, hourly or daily digests, quiet hours), after
   checking again that the subscriber may still see each subject (`wiki.visibility`). E-mail
   goes to the mail outbox (wiki/mail) in that same transaction.
4. The "alert-senders" job posts webhooks and hands SMS to the gateway (`webhooks`, `sms`),
   with retries and a dead-letter state; the "mail" job sends the mail outbox.

Subscriptions are made on the account page, by anyone on a crisis's alert page (e-mail, with a
confirmation link), and through the API (`subscriptions` is the one service behind all three).
"""
