"""Languages: the user's choice (a cookie set by the language switcher), else the browser's
Accept-Language, else English. Arabic pages are laid out right to left."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, has_app_context, has_request_context, redirect, request
from flask_babel import Babel, Domain, format_decimal, get_locale, ngettext
from flask_babel import gettext as _

RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "ar": "العربية"}
COOKIE = "lang"


def N_(text: str) -> str:  # noqa: N802 (the name pybabel extracts)
    """Marks `text` for the catalogues (pybabel extracts N_) without translating it: for words
    kept in English in data and code, translated where they are shown (`label`, gettext)."""
    return text


def human_size(size: int) -> str:
    """25 MB, 1.5 MB, 200 KB, 900 bytes: a limit a person can read (1 MB = 1024 KB), in the
    reader's language (units and decimal separator)."""

    def number(value: float) -> str:
        return format_decimal(value) if has_app_context() else f"{value:,g}"

    if size >= 1024 * 1024:
        return _("%(n)s MB", n=number(float(f"{size / (1024 * 1024):.3g}")))
    if size >= 1024:
        return _("%(n)s KB", n=number(float(f"{size / 1024:.3g}")))
    return ngettext("%(n)s byte", "%(n)s bytes", size, n=number(size))


def format_wait(seconds: int) -> str:
    """How long to wait, in words: "40 seconds", "3 minutes" (rounded up)."""
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    return ngettext("%(num)d minute", "%(num)d minutes", math.ceil(seconds / 60))


def language_for(req, config) -> str:
    """The language of a request (a Flask or Werkzeug request): the switcher's cookie, else the
    best match for Accept-Language, else the default. Also used before Flask (pages/cache.py)."""
    languages = config["LANGUAGES"]
    chosen = req.cookies.get(COOKIE)
    if chosen in languages:
        return chosen
    return req.accept_languages.best_match(languages) or config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> str:
    if not has_request_context():  # CLI commands (e.g. import-reports) speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return language_for(request, current_app.config)


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


class _CatalogueDomain(Domain):
    """Flask-Babel's domain caches the loaded catalogues by locale only, in one object shared by
    every app of the process; apps with different plugins (hence translation directories, as in
    the tests) must not see each other's catalogues, so the cache is keyed by directories too."""

    def get_translations_cache(self, ctx):
        return self.cache.setdefault(tuple(self.translation_directories), {})


def init_i18n(app: Flask, babel: Babel) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    if not isinstance(babel.__dict__.get("domain_instance"), _CatalogueDomain):
        babel.domain_instance = _CatalogueDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))
    app.register_blueprint(bp)
