"""The core's SQLAlchemy models. Importing this package registers every core table."""
from .attachments import Attachment
from .crises import Crisis
from .pages import Page, PageCategory, PageLink, PageRedirect, Revision, Watch
from .reports import RateLimitCounter, Report, ReportChange, ReportPhoto, Source
from .users import ApiToken, User

__all__ = [
    "ApiToken", "Attachment", "Crisis", "Page", "PageCategory", "PageLink", "PageRedirect",
    "RateLimitCounter", "Report", "ReportChange", "ReportPhoto", "Revision", "Source", "User", "Watch",
]
