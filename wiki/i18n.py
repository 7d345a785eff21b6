"""Languages: the user's choice (a cookie set by the language switcher), else the browser's
Accept-Language, else English. Arabic pages are laid out right to left."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, has_request_context, redirect, request
from flask_babel import Babel, get_locale

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
COOKIE = "lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands (e.g. import-reports) speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def text_direction() -> str:
    locale = get_locale()
    return "rtl" if locale is not None and locale.language in RTL_LANGUAGES else "ltr"


bp = Blueprint("i18n", __name__)


@bp.route("/language/<code>")
def choose_language(code: str):
    """The language switcher: remember the choice for a year, go back where the user was."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    target = request.args.get("next", "/")
    if urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target)
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_i18n(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    app.register_blueprint(bp)
