"""The core's SQLAlchemy models. Importing this package registers every core table."""
from .attachments import Attachment
from .crises import Crisis
from .pages import Page, PageCategory, PageLink, PageRedirect, Revision, Watch
from .users import ApiToken, User

__all__ = [
    "ApiToken", "Attachment", "Crisis", "Page", "PageCategory", "PageLink", "PageRedirect",
    "Revision", "User", "Watch",
]
