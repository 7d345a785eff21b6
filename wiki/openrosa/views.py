"""The OpenRosa API of a crisis, for ODK Collect and KoboCollect: the server URL a field team types
into the app is https://<site>/openrosa/<crisis>, to which the app appends /formList and
/submission (https://docs.getodk.org/openrosa/).

Who may submit is who may submit a report on the web form: anyone when anonymous reports are
allowed, else a logged-in reporter, who gives the app their user name and, as the password, an
API token (HTTP Basic; the views never read the session, so there is no CSRF token to check).
A submission goes through the report API's intake (`submit_report`): validated the same way,
committed before the app is told 201; its meta/instanceID is the idempotency key, so a form the
app sends again is the one report it made the first time (202).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin

from ..auth.permissions import require
from ..auth.tokens import basic_token, bearer, token_scope
from ..crises.services import get_crisis_or_404
from ..database import reads_first
from ..errors import BadRequest, DomainError, InvalidInput, UnsupportedMediaType
from ..models.reports import SECTORS
from ..reports.input import report_input_from_feature
from ..reports.submission import Photo, submit_report
from . import xforms

bp = Blueprint("openrosa", __name__, url_prefix="/openrosa/<crisis_slug>")

XML = "text/xml; charset=utf-8"
XML_PART = "xml_submission_file"


def _openrosa(body: bytes, status: int = 200, **headers: str) -> Response:
    response = Response(body, status=status, content_type=XML)
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers.update(headers)
    return response


def _viewer():
    """The reporter the token names, else anonymous: never the session (see the module's doc)."""
    found = bearer()
    return found.user if found is not None and found.user is not None else AnonymousUserMixin()


def collect_view(view):
    """A view ODK Collect calls: for whoever may submit reports, with a token as Basic password."""
    return token_scope("submit")(basic_token(view))


def _crisis_and_reporter(crisis_slug: str):
    crisis = get_crisis_or_404(crisis_slug)
    viewer = _viewer()
    require("submit_report", viewer)
    return crisis, viewer


def _accept_content_length() -> int:
    config = current_app.config
    return config["MAX_CONTENT_LENGTH"] or config["REPORT_PHOTO_MAX_BYTES"] * config["REPORT_MAX_PHOTOS"]


@bp.errorhandler(DomainError)
def _error(error: DomainError):
    """Errors as OpenRosaResponse messages, which Collect shows; a 401 challenges for Basic, the
    scheme Collect answers with the user name and password it asks for."""
    headers = error.headers()
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="crisiswiki", charset="UTF-8"'
    return _openrosa(xforms.response(error.message, "error"), error.status, **headers)


def _sectors() -> dict[str, str]:
    return {key: _(name) for key, name in SECTORS.items()}


def _form(crisis) -> bytes:
    return xforms.xform(crisis.slug, _("Field report: %(crisis)s", crisis=crisis.name), _sectors())


@bp.get("/formList")
@collect_view
def form_list(crisis_slug: str):
    """The form list (OpenRosa xformsList): the crisis's report form."""
    crisis, _reporter = _crisis_and_reporter(crisis_slug)
    entry = {
        "formID": xforms.form_id(crisis.slug),
        "name": _("Field report: %(crisis)s", crisis=crisis.name),
        "version": xforms.FORM_VERSION,
        "hash": xforms.form_hash(_form(crisis)),
        "descriptionText": _("Report what you see; it goes to the crisis's coordinators."),
        "downloadUrl": url_for("openrosa.form", crisis_slug=crisis.slug, _external=True),
    }
    return _openrosa(xforms.form_list([entry]))


@bp.get("/forms/report.xml")
@collect_view
def form(crisis_slug: str):
    """The report form as an XForm."""
    return _openrosa(_form(_crisis_and_reporter(crisis_slug)[0]))


@bp.route("/submission", methods=["HEAD", "POST"])
@collect_view
@reads_first
def submission(crisis_slug: str):
    """HEAD: may I submit, and how large may a submission be. POST: a filled-in form (multipart,
    the instance in `xml_submission_file`, its photo as another part)."""
    crisis, viewer = _crisis_and_reporter(crisis_slug)
    limit = {"X-OpenRosa-Accept-Content-Length": str(_accept_content_length())}
    if request.method == "HEAD":
        return _openrosa(b"", 204, **limit)
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(_("Send the form as multipart/form-data, as ODK Collect does."))
    part = request.files.get(XML_PART)
    if part is None:
        raise BadRequest(_("The submission has no xml_submission_file part."), field=XML_PART)
    sent = xforms.read_submission(part.read(), crisis.slug)
    photos = []
    if sent.photo:
        found = [f for key, f in request.files.items(multi=True) if key != XML_PART and f.filename == sent.photo]
        if not found:
            raise InvalidInput(
                _("The photo %(name)s named in the form was not sent with it.", name=sent.photo), field="photo"
            )
        photos.append(Photo(sent.photo, found[0].stream))
    given = report_input_from_feature(sent.feature, default_channel="odk", client_id=sent.instance_id)
    result = submit_report(given, viewer, photos)
    if result.created:
        message = _("Thank you: your report is received (number %(id)d).", id=result.report.id)
    else:
        message = _("This form was already received (report %(id)d).", id=result.report.id)
    location = url_for("reports.view", report_id=result.report.id, _external=True)
    return _openrosa(xforms.response(message), 201 if result.created else 202, Location=location, **limit)


submission.authenticated_by_secret = True  # a token, or anonymous; the session is never read
