"""Mail: an outbox table written in the caller's transaction, and a sender that delivers it.

`queue_mail()` adds a message to the outbox as part of whatever the request is changing, so a
mail exists exactly when the change it reports was committed. `deliver_pending()` sends what is
waiting over SMTP (Flask-Mail's setting names: MAIL_SERVER, MAIL_PORT, ...); it runs after
each response that queued mail and from `crisiswiki send-mail`, and each message is claimed by
one sender before it is sent, so several workers never send it twice. Without MAIL_SERVER,
messages stay in the outbox, where administrators read them (/admin/mail).
"""

from .outbox import init_mail, queue_mail
from .sender import deliver_pending

__all__ = ["deliver_pending", "init_mail", "queue_mail"]
