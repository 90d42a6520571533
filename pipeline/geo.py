"""Distances on the Earth's surface: one great-circle distance for the gazetteer, the eval
scorer and the alert benchmark."""
from __future__ import annotations

import math

#: Earth's mean radius in km (IUGG mean radius R1 = 6371.0088 km; Lucene's geo distance uses
#: 6371.0087714, a difference below a metre per 10,000 km).
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points given in decimal degrees.

    ``d = 2 R asin(sqrt(sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2)))`` with R = :data:`EARTH_RADIUS_KM`;
    the error against the ellipsoid is below 0.5 %.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
