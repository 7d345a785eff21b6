"""Geometry on the sphere that the core and plugins share: distances, the lat/lon box around a
circle (for indexed queries), and the grid cell a sensitive place is shown as. Pure functions
of degrees and kilometres, no database."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
KM_PER_DEGREE = 2 * math.pi * EARTH_RADIUS_KM / 360  # of latitude; of longitude at the equator (111.195 km)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) of a box that holds every point within radius_km, a little
    generously. `west > east` when the box crosses the antimeridian; near a pole it spans all
    longitudes."""
    dlat = radius_km / KM_PER_DEGREE * 1.01
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    widest = max(abs(south), abs(north))
    if widest >= 89.0:
        return south, north, -180.0, 180.0
    dlon = radius_km / (KM_PER_DEGREE * math.cos(math.radians(widest))) * 1.01
    if dlon >= 180.0:
        return south, north, -180.0, 180.0
    west, east = lon - dlon, lon + dlon
    if west < -180.0:
        west += 360.0
    if east > 180.0:
        east -= 360.0
    return south, north, west, east


def grid_cell_centre(lon: float, lat: float, grid_km: float) -> tuple[float, float]:
    """The centre of the grid cell, about grid_km on a side, that holds the point: where the
    public sees a sensitive report (wiki.visibility). The same point always gives the same cell."""
    lat_step = grid_km / KM_PER_DEGREE
    cell_lat = (math.floor(lat / lat_step) + 0.5) * lat_step
    lon_step = grid_km / (KM_PER_DEGREE * max(math.cos(math.radians(cell_lat)), 0.01))
    cell_lon = (math.floor(lon / lon_step) + 0.5) * lon_step
    return round(max(-180.0, min(180.0, cell_lon)), 5), round(max(-90.0, min(90.0, cell_lat)), 5)
