"""What every template can use: permissions, language, navigation, formatting."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale

from . import plugins
from .auth.permissions import can
from .i18n import LANGUAGE_NAMES, text_direction


def init_templating(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict:
        locale = get_locale()
        return {
            "can": can,
            "site_name": app.config["SITE_NAME"],
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in app.config["LANGUAGES"]],
            "current_language": locale.language if locale else "en",
            "text_direction": text_direction(),
            "crisis_links": lambda crisis, viewer: [link for links in plugins.call("navigation_links", crisis=crisis, viewer=viewer) for link in links],
        }

    @app.template_filter("datetime")
    def _datetime(value: datetime | None, style: str = "medium") -> str:
        return format_datetime(value, style) if value else ""

    @app.template_filter("date")
    def _date(value: date | None, style: str = "medium") -> str:
        return format_date(value, style) if value else ""

    @app.template_filter("number")
    def _number(value) -> str:
        return format_decimal(value) if value is not None else ""

    @app.template_global()
    def current_path() -> str:
        return request.full_path.rstrip("?")
