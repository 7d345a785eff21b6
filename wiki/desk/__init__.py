"""The coordinator's desk: the crisis dashboard (charts of the reports with the shared filters,
each with its table and CSV). Importing it adds the dashboard's JSON route to the API blueprint."""

from .views import bp

__all__ = ["bp"]
