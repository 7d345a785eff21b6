"""OGC API - Features (Part 1: Core, GeoJSON) under /ogc, so that GIS clients (QGIS, GDAL's OAPIF
driver) read a crisis's reports and layers directly: a collection of reports per crisis
("<crisis>-reports") and one per map layer ("layer-<id>"), items paged by `next` links. Reports are
read as the caller may see them (wiki.visibility, through the same query and serialisation as the
API and the exports)."""

from .features import bp

__all__ = ["bp"]
