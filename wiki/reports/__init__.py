"""Field reports: submission (form and API), sources, triage, exports and imports."""

from .exports import bp as exports_bp
from .import_views import bp as imports_bp
from .views import bp as reports_bp

__all__ = ["exports_bp", "imports_bp", "reports_bp"]
