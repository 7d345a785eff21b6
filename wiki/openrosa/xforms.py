"""The report form as ODK Collect and KoboCollect read it (an XForm), their form list, and the
reading of what they send back: pure functions over text, no database, no request.

The XForm asks what the web form asks (wiki/reports/forms.py): what happened, where (a geopoint,
or a place name the crisis's gazetteer knows), when, the sector, who saw it and how to reach them,
whether it is sensitive, and a photo. A submission becomes the same GeoJSON Feature the report API
takes, so it is validated by `report_input_from_feature` like every other door's.
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from flask_babel import gettext as _

from ..errors import BadRequest, InvalidInput

XFORMS = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JAVAROSA = "http://openrosa.org/javarosa"
ODK = "http://www.opendatakit.org/xforms"
FORM_LIST = "http://openrosa.org/xforms/xformsList"
RESPONSE = "http://openrosa.org/http/response"
# Bumped when the form's questions change, so that phones fetch the new form.
FORM_VERSION = "1"


@dataclass(frozen=True)
class Question:
    name: str
    kind: str  # the XForm bind type
    label: str
    hint: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) of a select1


def form_id(crisis_slug: str) -> str:
    return f"crisiswiki-{crisis_slug}-report"


def questions(sectors: dict[str, str]) -> list[Question]:
    """The form's questions, labels in the current language; `sectors`: key → translated name."""
    return [
        Question(
            "title", "string", _("What happened?"), _("In a few words, e.g. “Bridge on the main road collapsed”."), True
        ),
        Question("description", "string", _("Details"), _("What you saw, how many people, what is needed.")),
        Question("location", "geopoint", _("Where? (your phone's location)"), _("Leave empty if you are not there.")),
        Question("place_name", "string", _("Place name"), _("Village, street or landmark.")),
        Question("occurred_at", "dateTime", _("When did it happen?")),
        Question("sector", "string", _("Sector"), choices=tuple(sectors.items())),
        Question("reporter", "string", _("Who saw it? (your name, or who told you)")),
        Question("contact", "string", _("Phone or e-mail to reach you"), _("Shown only to coordinators.")),
        Question(
            "sensitive",
            "string",
            _("Could this report put someone at risk?"),
            _("If yes, its exact location is never shown publicly."),
            choices=(("no", _("No")), ("yes", _("Yes"))),
        ),
        Question("photo", "binary", _("Photo")),
    ]


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def xform(crisis_slug: str, title: str, sectors: dict[str, str]) -> bytes:
    """The XForm (ODK XForms 1.0) of the crisis's report form."""
    for prefix, uri in (("h", XHTML), ("jr", JAVAROSA), ("odk", ODK), ("", XFORMS)):
        ET.register_namespace(prefix, uri)
    asked = questions(sectors)
    html = ET.Element(_q(XHTML, "html"))
    head = ET.SubElement(html, _q(XHTML, "head"))
    ET.SubElement(head, _q(XHTML, "title")).text = title
    model = ET.SubElement(head, _q(XFORMS, "model"), {_q(ODK, "xforms-version"): "1.0.0"})
    instance = ET.SubElement(model, _q(XFORMS, "instance"))
    data = ET.SubElement(instance, _q(XFORMS, "data"), {"id": form_id(crisis_slug), "version": FORM_VERSION})
    for question in asked:
        ET.SubElement(data, _q(XFORMS, question.name))
    meta = ET.SubElement(data, _q(XFORMS, "meta"))
    ET.SubElement(meta, _q(XFORMS, "instanceID"))
    for question in asked:
        bind = {"nodeset": f"/data/{question.name}", "type": question.kind}
        if question.required:
            bind["required"] = "true()"
        ET.SubElement(model, _q(XFORMS, "bind"), bind)
    ET.SubElement(
        model,
        _q(XFORMS, "bind"),
        {"nodeset": "/data/meta/instanceID", "type": "string", "readonly": "true()", _q(JAVAROSA, "preload"): "uid"},
    )
    body = ET.SubElement(html, _q(XHTML, "body"))
    for question in asked:
        if question.choices:
            control = ET.SubElement(body, _q(XFORMS, "select1"), {"ref": f"/data/{question.name}"})
        elif question.kind == "binary":
            control = ET.SubElement(
                body, _q(XFORMS, "upload"), {"ref": f"/data/{question.name}", "mediatype": "image/*"}
            )
        else:
            control = ET.SubElement(body, _q(XFORMS, "input"), {"ref": f"/data/{question.name}"})
        ET.SubElement(control, _q(XFORMS, "label")).text = question.label
        if question.hint:
            ET.SubElement(control, _q(XFORMS, "hint")).text = question.hint
        for value, label in question.choices:
            item = ET.SubElement(control, _q(XFORMS, "item"))
            ET.SubElement(item, _q(XFORMS, "label")).text = label
            ET.SubElement(item, _q(XFORMS, "value")).text = value
    return ET.tostring(html, encoding="utf-8", xml_declaration=True)


def form_hash(form: bytes) -> str:
    """The form list's hash of a form: Collect fetches the form again when it changes."""
    return "md5:" + hashlib.md5(form, usedforsecurity=False).hexdigest()


def form_list(forms: list[dict[str, str]]) -> bytes:
    """The OpenRosa form list (xformsList); each form: formID, name, version, hash, downloadUrl."""
    ET.register_namespace("", FORM_LIST)
    root = ET.Element(_q(FORM_LIST, "xforms"))
    for form in forms:
        entry = ET.SubElement(root, _q(FORM_LIST, "xform"))
        for key in ("formID", "name", "version", "hash", "descriptionText", "downloadUrl"):
            if form.get(key) is not None:
                ET.SubElement(entry, _q(FORM_LIST, key)).text = form[key]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def response(message: str, nature: str = "") -> bytes:
    """An OpenRosaResponse: Collect shows its message to the person who sent the form."""
    ET.register_namespace("", RESPONSE)
    root = ET.Element(_q(RESPONSE, "OpenRosaResponse"))
    ET.SubElement(root, _q(RESPONSE, "message"), {"nature": nature} if nature else {}).text = message
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class Submission:
    form_id: str
    instance_id: str
    feature: dict[str, Any]
    photo: str  # the file name of the photo part the form names, "" for none


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _geopoint(text: str) -> dict[str, Any] | None:
    """ "lat lon altitude accuracy" (ODK's geopoint) as a GeoJSON Point; None when empty."""
    parts = text.split()
    if not parts:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise InvalidInput(_("location must be “latitude longitude”, as ODK records a geopoint."), field="location")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise InvalidInput(_("location must be “latitude longitude”, as ODK records a geopoint."), field="location")
    return {"type": "Point", "coordinates": [lon, lat]}


def read_submission(xml: bytes, crisis_slug: str) -> Submission:
    """The submitted instance as a report Feature for the crisis; BadRequest (400) for XML that
    cannot be read, InvalidInput (422) for another form or a missing instance id."""
    try:
        root = fromstring(xml, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise BadRequest(_("The submission is not well-formed XML."), field="xml_submission_file")
    submitted_id = root.get("id", "")
    if submitted_id != form_id(crisis_slug):
        raise InvalidInput(
            _("This server has no form %(form)s for this crisis; get the form list again.", form=submitted_id or "?"),
            field="xml_submission_file",
        )
    values: dict[str, str] = {}
    instance_id = ""
    for child in root:
        name = _local(child.tag)
        if name == "meta":
            for item in child:
                if _local(item.tag) == "instanceID":
                    instance_id = (item.text or "").strip()
        elif len(child) == 0:
            values[name] = (child.text or "").strip()
    if not instance_id:
        raise InvalidInput(_("The submission has no meta/instanceID."), field="meta/instanceID")
    if values.get("sensitive", "no") not in ("yes", "no", ""):
        raise InvalidInput(_("sensitive must be yes or no."), field="sensitive")
    geometry = _geopoint(values.get("location", ""))
    place_name = values.get("place_name", "")
    feature = {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "crisis": crisis_slug,
            "title": values.get("title", ""),
            "description": values.get("description", ""),
            "place_name": place_name,
            "place": "" if geometry else place_name,  # located by the gazetteer, as the web form does
            "occurred_at": values.get("occurred_at") or None,
            "sector": values.get("sector", ""),
            "sensitive": values.get("sensitive") == "yes",
            "source": {"name": values.get("reporter", ""), "contact": values.get("contact", ""), "channel": "odk"},
        },
    }
    return Submission(submitted_id, instance_id, feature, values.get("photo", ""))
