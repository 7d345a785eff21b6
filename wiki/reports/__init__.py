"""Field reports: submission (form and API), sources, triage, visibility, exports."""
from .exports import bp as exports_bp
from .views import bp as reports_bp

__all__ = ["exports_bp", "reports_bp"]
