"""What every template can use: permissions, language, navigation, formatting."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_skeleton, get_datetime_format
from flask import Flask, request
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale, to_user_timezone

from . import plugins
from .auth.permissions import can
from .i18n import LANGUAGE_NAMES, text_direction
from .vocabulary import label


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
            "asset_release": app.extensions.get("static_release", ""),
            "crisis_links": lambda crisis, viewer: [
                link for links in plugins.call("navigation_links", crisis=crisis, viewer=viewer) for link in links
            ],
        }

    # The medium style names the month in every language: CLDR's medium date is all digits in
    # Arabic (12/01/2010), and the yMMMd skeleton is the medium date elsewhere ("Jan 12, 2010",
    # "12 janv. 2010", "12 يناير 2010").
    def _medium_date(value: date) -> str:
        return format_skeleton(
            "yMMMd", to_user_timezone(value) if isinstance(value, datetime) else value, locale=get_locale()
        )

    @app.template_filter("datetime")
    def _datetime(value: datetime | str | None, style: str = "medium") -> str:
        if isinstance(value, str) and value:  # an ISO 8601 string (dicts shared with the API)
            value = datetime.fromisoformat(value)
        if not value:
            return ""
        if style != "medium":
            return format_datetime(value, style)
        glue = get_datetime_format("medium", locale=get_locale()).replace("'", "")
        return glue.replace("{0}", format_time(value, "medium")).replace("{1}", _medium_date(value))

    @app.template_filter("date")
    def _date(value: date | str | None, style: str = "medium") -> str:
        if isinstance(value, str) and value:
            value = datetime.fromisoformat(value)
        if not value:
            return ""
        return _medium_date(value) if style == "medium" else format_date(value, style)

    @app.template_filter("number")
    def _number(value) -> str:
        return format_decimal(value) if value is not None else ""

    app.add_template_global(label)

    @app.template_global()
    def current_path() -> str:
        return request.full_path.rstrip("?")
