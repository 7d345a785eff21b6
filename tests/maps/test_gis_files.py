"""Layers and admin boundaries from the GIS files people have: files written by GDAL's own
ogr2ogr (Debian's gdal-bin, `make gdal`) from one GeoJSON source — a zipped Shapefile in UTM
(EPSG:32618), a GeoPackage with a self-intersecting polygon, KML, KMZ, GPX, GeoJSON with a
projected "crs" member — uploaded through the API and the layer page: reprojected to WGS 84,
repairs reported with their feature, and the layer served as application/geo+json."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from wiki.extensions import db
from wiki.models import AdminArea

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="needs Debian's gdal-bin (make gdal)")

SOURCE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Hôpital de campagne", "beds": 40},
            "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]},
        },
        {
            "type": "Feature",
            "properties": {"name": "Camp Corail", "beds": 0},
            "geometry": {"type": "Point", "coordinates": [-72.25, 18.60]},
        },
    ],
}
BOWTIE = {  # a self-intersecting ring: invalid, make_valid turns it into two triangles
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "Bowtie zone"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-72.4, 18.5], [-72.3, 18.6], [-72.3, 18.5], [-72.4, 18.6], [-72.4, 18.5]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"name": "Square zone"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-72.2, 18.5], [-72.1, 18.5], [-72.1, 18.6], [-72.2, 18.6], [-72.2, 18.5]]],
            },
        },
    ],
}
ADM1 = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"ADM1_PCODE": "HT01", "ADM1_EN": "Ouest"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[-74, 17.9], [-72, 17.9], [-72, 20.1], [-74, 20.1], [-74, 17.9]]],
            },
        }
    ],
}


def ogr2ogr(tmp_path: Path, document: dict, out_name: str, *options: str) -> Path:
    source = tmp_path / f"source-{out_name}.geojson"
    source.write_text(json.dumps(document))
    out = tmp_path / out_name
    subprocess.run(["ogr2ogr", *options, str(out), str(source)], check=True, capture_output=True)
    return out


def zipped(tmp_path: Path, stem: str, files: list[Path], inner: dict[Path, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in files:
            archive.write(path, (inner or {}).get(path, path.name))
    return buffer.getvalue()


def shapefile_zip(tmp_path: Path, document: dict, crs: str = "EPSG:32618") -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    ogr2ogr(folder, document, "places.shp", "-f", "ESRI Shapefile", "-t_srs", crs, "-lco", "ENCODING=UTF-8")
    return zipped(tmp_path, "places", sorted(p for p in folder.iterdir() if p.stem == "places"))


def upload(client, token: str, name: str, data: bytes, title: str = "Field sites"):
    return client.post(
        "/api/v1/layers",
        data={"title": title, "crisis": "quake", "source": "ogr2ogr", "file": (io.BytesIO(data), name)},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )


def points_of(body: dict) -> dict[str, tuple[float, float]]:
    return {
        feature["properties"]["name"]: tuple(round(c, 5) for c in feature["geometry"]["coordinates"][:2])
        for feature in body["features"]
    }


@pytest.fixture
def coordinator_token(make_user, token_for):
    return token_for(make_user("coordinator"))


def test_a_zipped_shapefile_in_utm_is_reprojected_to_wgs84(client, crisis, coordinator_token, tmp_path):
    response = upload(client, coordinator_token, "places.zip", shapefile_zip(tmp_path, SOURCE))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    assert points_of(body) == {"Hôpital de campagne": (-72.34, 18.54), "Camp Corail": (-72.25, 18.6)}
    assert body["features"][0]["properties"]["beds"] == 40
    conversion = body["metadata"]["conversion"]
    assert conversion["format"] == "Shapefile" and "32618" in conversion["reprojected_from"]
    assert conversion["repaired"] == 0
    served = client.get(f"/api/v1/layers/{body['metadata']['id']}")
    assert served.mimetype == "application/geo+json" and "conversion" not in served.get_json()["metadata"]


def test_a_geopackage_with_an_invalid_polygon_is_repaired_and_the_repair_located(
    client, crisis, coordinator_token, tmp_path
):
    gpkg = ogr2ogr(tmp_path, BOWTIE, "zones.gpkg", "-f", "GPKG", "-nln", "zones")
    response = upload(client, coordinator_token, "zones.gpkg", gpkg.read_bytes(), title="Zones")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    conversion = body["metadata"]["conversion"]
    assert conversion["format"] == "GPKG" and conversion["reprojected_from"] is None
    [repair] = conversion["repairs"]
    assert (repair["feature"], repair["layer"], repair["result"]) == (0, "zones", "MultiPolygon")
    assert repair["problem"].startswith("Self-intersection")
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert body["features"][1]["geometry"]["type"] == "Polygon"


@pytest.mark.parametrize("driver,name", [("KML", "sites.kml"), ("GPX", "sites.gpx"), ("LIBKML", "sites.kmz")])
def test_kml_kmz_and_gpx_load_as_layers(client, crisis, coordinator_token, tmp_path, driver, name):
    options = ["-f", driver] + (["-dsco", "GPX_USE_EXTENSIONS=YES"] if driver == "GPX" else [])
    path = ogr2ogr(tmp_path, SOURCE, name, *options)
    response = upload(client, coordinator_token, name, path.read_bytes())
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert points_of(body) == {"Hôpital de campagne": (-72.34, 18.54), "Camp Corail": (-72.25, 18.6)}
    assert body["metadata"]["feature_count"] == 2


def test_geojson_with_a_projected_crs_member_is_reprojected(client, crisis, coordinator_token, tmp_path):
    path = ogr2ogr(tmp_path, SOURCE, "utm.geojson", "-f", "GeoJSON", "-t_srs", "EPSG:32618")
    assert '"crs"' in path.read_text()
    response = upload(client, coordinator_token, "utm.geojson", path.read_bytes())
    assert response.status_code == 201, response.get_data(as_text=True)
    assert points_of(response.get_json())["Camp Corail"] == (-72.25, 18.6)


def test_the_layer_page_takes_a_shapefile_and_says_what_it_did(app, client, crisis, make_user, login, tmp_path):
    login(make_user("coordinator"))
    response = client.post(
        "/c/quake/layers/new",
        data={"title": "Sites", "file": (io.BytesIO(shapefile_zip(tmp_path, SOURCE)), "sites.zip")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "reprojected from" in text and "32618" in text


def test_boundaries_from_a_zipped_shapefile(app, client, crisis, make_user, login, tmp_path, runner):
    login(make_user("admin"))
    data = shapefile_zip(tmp_path, ADM1, crs="EPSG:3857")
    response = client.post(
        "/c/quake/boundaries",
        data={"level": "1", "file": (io.BytesIO(data), "adm1.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        [area] = db.session.scalars(select(AdminArea)).all()
        west, south, east, north = __import__("shapely").geometry.shape(json.loads(area.geometry)).bounds
    assert (area.pcode, area.name) == ("HT01", "Ouest")
    assert (round(west, 4), round(south, 4), round(east, 4), round(north, 4)) == (-74.0, 17.9, -72.0, 20.1)
    path = tmp_path / "adm1-again.zip"
    path.write_bytes(data)
    result = runner.invoke(args=["import-boundaries", str(path), "--crisis", "quake", "--level", "1"])
    assert result.exit_code == 0 and "Imported 1 admin-1 areas" in result.output


def test_a_zip_without_gis_files_is_refused_with_a_reason(client, crisis, coordinator_token):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "nothing here")
    response = upload(client, coordinator_token, "notes.zip", buffer.getvalue())
    assert response.status_code == 422 and "Shapefile" in response.get_json()["error"]["message"]
