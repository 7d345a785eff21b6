"""Attachments: upload, type detection from the bytes, metadata stripping, storage by content
hash, serving, permissions and the Markdown embed.

Every test runs on SQLite and PostgreSQL (the `backend` parameter of the fixtures); the files
land in the app's own UPLOAD_FOLDER under the test's tmp_path.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from PIL import Image, ImageSequence, PngImagePlugin
from sqlalchemy import select

from wiki.extensions import db
from wiki.models import Attachment

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
XMP_WITH_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="18,32.4N" '
    b'exif:GPSLongitude="72,20.1W"/></rdf:RDF></x:xmpmeta>'
)
MZ_EXECUTABLE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"This program cannot be run in DOS mode."
)
ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


# --- building real files -------------------------------------------------------------------------


def gps_exif(orientation: int | None = None) -> Image.Exif:
    """EXIF with a camera make and a GPS position (Port-au-Prince), as a phone would write it."""
    exif = Image.Exif()
    exif[MAKE] = "SecretCam"
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = "N", (18.0, 32.0, 24.0)
    gps[3], gps[4] = "W", (72.0, 20.0, 6.0)
    return exif


def two_colour_image(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half red, right half blue: which way up it is can be read from the pixels."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg_with_gps(orientation: int | None = None, **options) -> bytes:
    data = encode(two_colour_image(), "JPEG", exif=gps_exif(orientation), quality=95, **options)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD), "the test image must carry GPS to begin with"
    return data


def png() -> bytes:
    return encode(two_colour_image(), "PNG")


# --- helpers -------------------------------------------------------------------------------------


def upload(client, crisis: str, data: bytes, filename: str = "photo.jpg", page: str | None = None, **kwargs):
    form = {"file": (io.BytesIO(data), filename)}
    if page is not None:
        form["page"] = page
    return client.post(f"/c/{crisis}/attachments", data=form, content_type="multipart/form-data", **kwargs)


def create_page(client, crisis: str, title: str = "T", body: str = "x") -> str:
    response = client.post(f"/c/{crisis}/new", data={"title": title, "body": body})
    assert response.status_code == 302, response.data
    return response.headers["Location"].rsplit("/", 1)[-1]


def rows(app) -> list[Attachment]:
    with app.app_context():
        found = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
        db.session.expunge_all()
        return found


def stored_files(app) -> list[Path]:
    """Every file under the upload folder, temporary ones included."""
    root = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def media_url(attachment: Attachment) -> str:
    return f"/media/{attachment.id}/{attachment.filename}"


def served(client, attachment: Attachment):
    response = client.get(media_url(attachment))
    assert response.status_code == 200, response.data
    return response


@pytest.fixture
def coordinator(make_user, login):
    person = make_user("coordinator")
    login(person)
    return person


@pytest.fixture
def page(client, crisis, coordinator) -> str:
    return create_page(client, crisis, "Shelters")


# --- uploading and showing -----------------------------------------------------------------------


def test_coordinator_uploads_a_photo_to_a_page_and_it_shows_on_the_page(app, client, crisis, coordinator, page):
    response = upload(client, crisis, jpeg_with_gps(), "shelter photo.jpg", page=page)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/c/{crisis}/wiki/{page}#attachments")
    [attachment] = rows(app)
    assert (attachment.kind, attachment.content_type, attachment.filename) == (
        "image",
        "image/jpeg",
        "shelter_photo.jpg",
    )
    assert (attachment.width, attachment.height) == (40, 20)
    assert attachment.uploaded_by_id == coordinator.id and attachment.page_id is not None
    view = client.get(f"/c/{crisis}/wiki/{page}").get_data(as_text=True)
    assert f'<img src="{media_url(attachment)}"' in view
    assert f'href="{media_url(attachment)}">shelter_photo.jpg</a>' in view


def test_page_view_offers_the_upload_form_for_that_page_only_to_those_who_may_upload(
    client, crisis, page, make_user, login, app
):
    own = client.get(f"/c/{crisis}/wiki/{page}").get_data(as_text=True)
    assert f'action="/c/{crisis}/attachments?page={page}"' in own and 'name="file"' in own
    with app.test_client() as other:
        assert 'name="file"' not in other.get(f"/c/{crisis}/wiki/{page}").get_data(as_text=True)
        login(make_user("volunteer"), other)
        assert 'name="file"' not in other.get(f"/c/{crisis}/wiki/{page}").get_data(as_text=True)


def test_upload_without_a_page_belongs_to_the_crisis_and_returns_to_the_file_list(app, client, crisis, coordinator):
    response = upload(client, crisis, PDF, "sitrep.pdf")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/c/{crisis}/attachments")
    [attachment] = rows(app)
    assert attachment.page_id is None and attachment.kind == "document"


def test_page_can_also_be_given_in_the_query_string(app, client, crisis, page):
    response = client.post(
        f"/c/{crisis}/attachments?page={page}",
        data={"file": (io.BytesIO(png()), "map.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert rows(app)[0].page_id is not None


def test_upload_to_a_page_that_does_not_exist_is_404_and_stores_nothing(app, client, crisis, coordinator):
    assert upload(client, crisis, png(), "map.png", page="No_such_page").status_code == 404
    assert rows(app) == [] and stored_files(app) == []


def test_upload_to_a_crisis_that_does_not_exist_is_404(app, client, crisis, coordinator):
    assert upload(client, "no-such-crisis", png(), "map.png").status_code == 404
    assert rows(app) == [] and stored_files(app) == []


def test_file_list_shows_the_markdown_to_embed_an_image_and_link_a_document(app, client, crisis, page):
    upload(client, crisis, jpeg_with_gps(), "photo.jpg", page=page)
    upload(client, crisis, PDF, "sitrep.pdf")
    image, document = rows(app)
    listing = client.get(f"/c/{crisis}/attachments")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert f"<code>![photo.jpg]({media_url(image)})</code>" in text
    assert f"<code>[sitrep.pdf]({media_url(document)})</code>" in text
    assert f'href="/c/{crisis}/wiki/{page}">Shelters</a>' in text


def test_file_list_does_not_reveal_the_title_of_a_deleted_page(app, client, crisis, make_user, login):
    login(make_user("admin"))
    slug = create_page(client, crisis, "Names of the missing")
    upload(client, crisis, PDF, "list.pdf", page=slug)
    assert client.post(f"/c/{crisis}/wiki/{slug}/delete").status_code == 302
    assert "Names of the missing" in client.get(f"/c/{crisis}/attachments").get_data(as_text=True)
    with app.test_client() as anonymous:
        listing = anonymous.get(f"/c/{crisis}/attachments")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "list.pdf" in text and "Names of the missing" not in text and f"/wiki/{slug}" not in text


def test_file_list_is_readable_by_anyone_but_offers_no_upload_form_to_anonymous(app, client, crisis, coordinator):
    upload(client, crisis, PDF, "sitrep.pdf")
    with app.test_client() as anonymous:
        listing = anonymous.get(f"/c/{crisis}/attachments").get_data(as_text=True)
    assert "sitrep.pdf" in listing and 'name="file"' not in listing
    assert 'name="file"' in client.get(f"/c/{crisis}/attachments").get_data(as_text=True)


def test_markdown_embed_from_the_file_list_renders_as_an_image_in_a_page(app, client, crisis, coordinator):
    upload(client, crisis, jpeg_with_gps(), "photo.jpg")
    [attachment] = rows(app)
    listing = client.get(f"/c/{crisis}/attachments").get_data(as_text=True)
    embed = re.search(r"<code>(!\[[^<]*)</code>", listing).group(1)
    slug = create_page(client, crisis, "Gallery", f"Before the rain:\n\n{embed}\n")
    view = client.get(f"/c/{crisis}/wiki/{slug}").get_data(as_text=True)
    img = re.search(r'<div class="wiki-content">.*?(<img [^>]*>)', view, re.S).group(1)
    assert f'src="{media_url(attachment)}"' in img and 'alt="photo.jpg"' in img
    src = re.search(r'src="([^"]+)"', img).group(1)
    assert client.get(src).headers["Content-Type"] == "image/jpeg"


def test_flash_after_upload_tells_the_markdown_to_embed_it(app, client, crisis, coordinator):
    response = upload(client, crisis, png(), "map.png", follow_redirects=True)
    [attachment] = rows(app)
    assert f"![map.png]({media_url(attachment)})" in response.get_data(as_text=True)


# --- permissions ---------------------------------------------------------------------------------


def test_anonymous_cannot_upload(app, client, crisis):
    response = upload(client, crisis, png(), "map.png")
    assert response.status_code == 401
    assert rows(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("role", ["volunteer", "verifier"])
def test_volunteers_and_verifiers_cannot_upload(app, client, crisis, make_user, login, role):
    login(make_user(role))
    response = upload(client, crisis, png(), "map.png", headers={"Accept": "application/json"})
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert rows(app) == [] and stored_files(app) == []


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_coordinators_and_admins_can_upload(app, client, crisis, make_user, login, role):
    login(make_user(role))
    assert upload(client, crisis, png(), "map.png").status_code == 302
    assert len(rows(app)) == 1 and len(stored_files(app)) == 1


# --- type from the bytes, bad input changes nothing ---------------------------------------------


@pytest.mark.parametrize("data", [MZ_EXECUTABLE, ELF_EXECUTABLE], ids=["windows-exe", "elf"])
def test_executable_named_like_a_photo_is_refused_with_415_and_a_json_message(
    app, client, crisis, coordinator, page, data
):
    response = upload(client, crisis, data, "photo.jpg", page=page, headers={"Accept": "application/json"})
    assert response.status_code == 415
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_media_type" and error["field"] == "file"
    assert "not accepted" in error["message"] and "images" in error["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_executable_refused_in_the_browser_gets_an_html_page_with_the_message(app, client, crisis, coordinator):
    response = upload(client, crisis, MZ_EXECUTABLE, "photo.jpg")
    assert response.status_code == 415 and response.mimetype == "text/html"
    assert "is not accepted here" in response.get_data(as_text=True)
    assert rows(app) == [] and stored_files(app) == []


def test_unknown_binary_is_refused(app, client, crisis, coordinator):
    assert upload(client, crisis, bytes(range(256)) * 4, "data.bin").status_code == 415
    assert rows(app) == [] and stored_files(app) == []


def test_image_that_cannot_be_decoded_is_refused(app, client, crisis, coordinator):
    broken = jpeg_with_gps()[:30] + b"\x00" * 200  # a JPEG signature, then nothing decodable
    response = upload(client, crisis, broken, "photo.jpg", headers={"Accept": "application/json"})
    assert response.status_code == 415 and "could not be read" in response.get_json()["error"]["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_empty_file_is_422(app, client, crisis, coordinator, page):
    response = upload(client, crisis, b"", "photo.jpg", page=page, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid", "message": "The file is empty.", "field": "file"}
    assert rows(app) == [] and stored_files(app) == []


def test_request_without_a_file_is_422(app, client, crisis, coordinator):
    response = client.post(f"/c/{crisis}/attachments", data={}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "file"
    assert rows(app) == [] and stored_files(app) == []


def test_file_larger_than_the_configured_limit_is_413_with_the_limit_in_the_message(
    app, client, crisis, coordinator, page
):
    app.config["ATTACHMENT_MAX_BYTES"] = 2000
    response = upload(client, crisis, PDF + b"%" * 2000, "big.pdf", page=page, headers={"Accept": "application/json"})
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and error["field"] == "file"
    assert error["message"] == "The file is larger than the limit of 1.95 KB."
    assert rows(app) == [] and stored_files(app) == []


def test_too_large_in_the_browser_is_an_html_413(app, client, crisis, coordinator):
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    response = upload(client, crisis, PDF + b"%" * 200, "big.pdf")
    assert response.status_code == 413 and "larger than the limit" in response.get_data(as_text=True)
    assert rows(app) == [] and stored_files(app) == []


def test_file_exactly_at_the_limit_is_accepted(app, client, crisis, coordinator):
    app.config["ATTACHMENT_MAX_BYTES"] = len(PDF)
    assert upload(client, crisis, PDF, "sitrep.pdf").status_code == 302
    assert rows(app)[0].size == len(PDF)


def test_default_limit_is_25_megabytes_and_the_413_says_so(app, client, crisis, coordinator):
    limit = 25 * 1024 * 1024
    assert app.config["ATTACHMENT_MAX_BYTES"] == limit
    response = upload(client, crisis, PDF + b"%" * limit, "huge.pdf", headers={"Accept": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"]["message"] == "The file is larger than the limit of 25 MB."
    assert rows(app) == [] and stored_files(app) == []


def test_image_with_more_pixels_than_allowed_is_refused(app, client, crisis, coordinator, monkeypatch):
    from wiki.media import storage

    monkeypatch.setattr(storage, "MAX_IMAGE_PIXELS", 100)
    response = upload(client, crisis, png(), "map.png", headers={"Accept": "application/json"})
    assert response.status_code == 413 and "pixels" in response.get_json()["error"]["message"]
    assert rows(app) == [] and stored_files(app) == []


def test_content_type_comes_from_the_bytes_not_the_name(app, client, crisis, coordinator):
    upload(client, crisis, png(), "report.pdf")
    upload(client, crisis, PDF, "photo.jpg")
    image, document = rows(app)
    assert (image.content_type, image.kind) == ("image/png", "image")
    assert (document.content_type, document.kind) == ("application/pdf", "document")
    assert served(client, image).headers["Content-Type"] == "image/png"
    assert served(client, document).headers["Content-Type"] == "application/pdf"


def test_download_name_gets_the_extension_of_what_the_file_really_is(app, client, crisis, coordinator):
    upload(client, crisis, PDF, "photo.jpg")
    upload(client, crisis, PDF, "sitrep.PDF")
    upload(client, crisis, b"name,count\nA,1\n", "counts.csv")
    misnamed, kept, csv = rows(app)
    assert misnamed.filename == "photo.jpg.pdf" and kept.filename == "sitrep.PDF" and csv.filename == "counts.csv"
    assert csv.content_type == "text/csv"


def test_long_utf8_text_is_a_document_even_when_a_character_straddles_the_sniffed_part(
    app, client, crisis, coordinator
):
    text = ("a" + "é" * 40_000).encode()  # the 65,536th byte is the first half of an "é"
    assert upload(client, crisis, text, "notes.txt").status_code == 302
    [attachment] = rows(app)
    assert (attachment.content_type, attachment.filename) == ("text/plain", "notes.txt")
    assert served(client, attachment).data == text


def test_text_with_an_invalid_byte_near_its_end_is_not_text(app, client, crisis, coordinator):
    assert upload(client, crisis, b"a" * 65_532 + b"\xff\xfe", "notes.txt").status_code == 415
    assert rows(app) == [] and stored_files(app) == []


def test_video_is_accepted_and_served_as_a_download(app, client, crisis, coordinator):
    upload(client, crisis, MP4, "flood.mp4")
    [video] = rows(app)
    assert (video.kind, video.content_type) == ("video", "video/mp4")
    response = served(client, video)
    assert response.headers["Content-Type"] == "video/mp4" and response.data == MP4
    assert response.headers["Content-Disposition"].startswith("attachment")


# --- serving ------------------------------------------------------------------------------------


def test_images_are_served_inline_with_nosniff(app, client, crisis, coordinator):
    upload(client, crisis, png(), "map.png")
    response = served(client, rows(app)[0])
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_documents_are_served_as_downloads_with_nosniff(app, client, crisis, coordinator):
    upload(client, crisis, PDF, "sitrep.pdf")
    response = served(client, rows(app)[0])
    assert response.data == PDF
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "attachment; filename=sitrep.pdf"


@pytest.mark.parametrize(
    ("data", "filename"),
    [(SVG, "logo.svg"), (HTML, "index.html"), (SVG, "logo.png")],
    ids=["svg", "html", "svg-named-png"],
)
def test_svg_and_html_are_stored_as_plain_text_and_never_served_inline(
    app, client, crisis, coordinator, data, filename
):
    assert upload(client, crisis, data, filename).status_code == 302
    [attachment] = rows(app)
    assert (attachment.content_type, attachment.kind) == ("text/plain", "document")
    assert attachment.filename == f"{filename}.txt"
    response = served(client, attachment)
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.data == data


def test_svg_upload_does_not_show_as_an_image_on_the_page(app, client, crisis, page):
    upload(client, crisis, SVG, "logo.svg", page=page)
    view = client.get(f"/c/{crisis}/wiki/{page}").get_data(as_text=True)
    assert "logo.svg.txt" in view and "<img" not in view.split('id="attachments"')[1]


def test_a_wrong_filename_in_the_url_is_404(app, client, crisis, coordinator):
    upload(client, crisis, png(), "map.png")
    [attachment] = rows(app)
    assert client.get(f"/media/{attachment.id}/other.png").status_code == 404
    assert client.get(f"/media/{attachment.id}/MAP.png").status_code == 404
    assert client.get(f"/media/{attachment.id}/map.png/extra").status_code == 404
    assert client.get(f"/media/{attachment.id + 1}/map.png").status_code == 404
    assert client.get(media_url(attachment)).status_code == 200


def test_file_missing_on_disk_is_404_not_an_error(app, client, crisis, coordinator):
    upload(client, crisis, png(), "map.png")
    for path in stored_files(app):
        path.unlink()
    assert client.get(media_url(rows(app)[0])).status_code == 404


def test_files_are_cached_by_content_hash_and_revalidated_with_the_etag(app, client, crisis, coordinator):
    upload(client, crisis, PDF, "sitrep.pdf")
    [attachment] = rows(app)
    response = served(client, attachment)
    assert response.headers["ETag"] == f'"{attachment.sha256}"'
    assert "immutable" in response.headers["Cache-Control"]
    again = client.get(media_url(attachment), headers={"If-None-Match": f'"{attachment.sha256}"'})
    assert again.status_code == 304 and again.data == b""


def test_anonymous_readers_can_fetch_files(app, client, crisis, coordinator):
    upload(client, crisis, png(), "map.png")
    with app.test_client() as anonymous:
        assert anonymous.get(media_url(rows(app)[0])).status_code == 200


def test_unicode_file_names_survive_and_path_parts_are_dropped(app, client, crisis, coordinator):
    upload(client, crisis, png(), "../../etc/Pòtoprens kat.png")
    upload(client, crisis, png(), "<script>alert(1)</script>.png")
    first, second = rows(app)
    assert first.filename == "Pòtoprens_kat.png"
    assert second.filename == "script_.png"
    assert served(client, first).data == served(client, second).data


# --- storage by content hash ---------------------------------------------------------------------


def test_same_bytes_uploaded_twice_are_stored_once(app, client, crisis, coordinator, page):
    upload(client, crisis, PDF, "a.pdf")
    upload(client, crisis, PDF, "b.pdf", page=page)
    first, second = rows(app)
    assert first.id != second.id and first.sha256 == second.sha256 == hashlib.sha256(PDF).hexdigest()
    [path] = stored_files(app)
    assert path.name == first.sha256 and path.read_bytes() == PDF
    assert path.relative_to(app.config["UPLOAD_FOLDER"]).parts == (first.sha256[:2], first.sha256[2:4], first.sha256)
    assert served(client, first).data == served(client, second).data == PDF


def test_same_photo_uploaded_twice_is_stored_once_after_cleaning(app, client, crisis, coordinator):
    photo = jpeg_with_gps()
    upload(client, crisis, photo, "a.jpg")
    upload(client, crisis, photo, "b.jpg")
    first, second = rows(app)
    assert first.sha256 == second.sha256
    [path] = stored_files(app)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first.sha256
    assert first.size == second.size == path.stat().st_size


def test_different_files_are_stored_separately_and_no_temporary_files_are_left(app, client, crisis, coordinator):
    upload(client, crisis, PDF, "a.pdf")
    upload(client, crisis, png(), "b.png")
    files = stored_files(app)
    assert len(files) == 2 and not any(p.name.startswith(".upload-") for p in files)
    assert {p.name for p in files} == {a.sha256 for a in rows(app)}


# --- metadata stripping --------------------------------------------------------------------------


def test_gps_and_other_exif_are_stripped_from_a_served_jpeg(app, client, crisis, coordinator):
    original = jpeg_with_gps()
    assert b"SecretCam" in original
    upload(client, crisis, original, "photo.jpg")
    [attachment] = rows(app)
    data = served(client, attachment).data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (40, 20)
    exif = image.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert "exif" not in image.info and b"Exif\x00\x00" not in data and b"SecretCam" not in data
    assert stored_files(app)[0].read_bytes() == data


def test_jpeg_comments_and_xmp_are_stripped_too(app, client, crisis, coordinator):
    original = jpeg_with_gps(comment=b"taken at 18.54N 72.34W", xmp=XMP_WITH_GPS)
    assert b"18.54N" in original and b"GPSLatitude" in original
    upload(client, crisis, original, "photo.jpg")
    data = served(client, rows(app)[0]).data
    assert b"18.54N" not in data and b"GPSLatitude" not in data
    assert not {"comment", "xmp", "exif"} & set(Image.open(io.BytesIO(data)).info)


def test_exif_orientation_is_applied_so_the_stored_image_is_upright(app, client, crisis, coordinator):
    # Orientation 6: the camera was turned; a viewer must rotate 90° clockwise to show it,
    # which moves the red left half to the top.
    upload(client, crisis, jpeg_with_gps(orientation=6), "sideways.jpg")
    [attachment] = rows(app)
    assert (attachment.width, attachment.height) == (20, 40)
    image = Image.open(io.BytesIO(served(client, attachment).data)).convert("RGB")
    assert image.size == (20, 40)
    assert ORIENTATION not in image.getexif()
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_is_stripped_from_png_and_webp(app, client, crisis, coordinator, fmt):
    extra = {}
    if fmt == "PNG":
        extra["pnginfo"] = PngImagePlugin.PngInfo()
        extra["pnginfo"].add_text("Comment", "taken at 18.54N 72.34W")
    original = encode(two_colour_image(), fmt, exif=gps_exif(orientation=6), **extra)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    upload(client, crisis, original, f"map.{fmt.lower()}")
    [attachment] = rows(app)
    data = served(client, attachment).data
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt and image.size == (20, 40)
    assert len(image.getexif()) == 0 and b"SecretCam" not in data and b"18.54N" not in data


def test_gif_comments_are_stripped_and_animation_is_kept(app, client, crisis, coordinator):
    frames = [Image.new("RGB", (10, 10), colour) for colour in ("red", "green", "blue")]
    original = encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
        comment=b"taken at 18.54N 72.34W",
    )
    assert b"18.54N" in original
    upload(client, crisis, original, "anim.gif")
    [attachment] = rows(app)
    data = served(client, attachment).data
    assert b"18.54N" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.n_frames == 3
    assert [frame.info["duration"] for frame in ImageSequence.Iterator(image)] == [100, 200, 300]
    assert (attachment.width, attachment.height) == (10, 10)


def test_transparency_survives_cleaning(app, client, crisis, coordinator):
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    image.paste((0, 128, 0, 255), (0, 0, 4, 8))
    upload(client, crisis, encode(image, "PNG"), "marker.png")
    cleaned = Image.open(io.BytesIO(served(client, rows(app)[0]).data)).convert("RGBA")
    assert cleaned.getpixel((1, 1)) == (0, 128, 0, 255) and cleaned.getpixel((6, 6))[3] == 0


def test_display_copy_is_small_upright_and_without_metadata():
    from wiki.media.storage import display_copy

    original = encode(two_colour_image((400, 200)), "JPEG", exif=gps_exif(orientation=6), comment=b"taken at 18.54N")
    data = display_copy(original, 100)
    image = Image.open(io.BytesIO(data))
    assert image.size == (50, 100)
    assert len(image.getexif()) == 0 and b"18.54N" not in data and b"SecretCam" not in data
