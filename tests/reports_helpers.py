"""Small factories for report tests."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def feature(
    title: str = "Bridge collapsed",
    lon: float = -72.34,
    lat: float = 18.54,
    crisis: str | None = "quake",
    **properties: Any,
) -> dict[str, Any]:
    props: dict[str, Any] = {"title": title, "sector": "logistics"}
    if crisis is not None:
        props["crisis"] = crisis
    props.update(properties)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def jpeg_with_gps(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A real JPEG carrying EXIF with a GPS position and a camera make."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (18.0, 32.0, 24.0), 3: "W", 4: (72.0, 20.0, 24.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()
