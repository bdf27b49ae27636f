"""Map coordinates <-> GNSS coordinates, as the leaderboard converts route points.

The leaderboard hands agents their route in latitude/longitude computed with a spherical
Mercator projection around the map's OpenDRIVE `<geoReference>` (`+lat_0=... +lon_0=...`),
falling back to lat 42.0, lon 2.0 when the map has none. The GNSS sensor uses the same
reference, so an agent can compare its GNSS fix with the plan. CARLA's y axis points south
(OpenDRIVE y negated), hence the minus sign on y.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import carla

from driving.errors import InputError

EARTH_RADIUS_EQUA_M = 6378137.0
DEFAULT_LAT_REF_DEG = 42.0
DEFAULT_LON_REF_DEG = 2.0

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def _proj_param(text: str, name: str, default: float, source: str) -> float:
    """Value of `+name=<number>` in a PROJ string, `default` when the parameter is absent."""
    match = re.search(rf"\+{name}=(\S*)", text)
    if match is None:
        return default
    number = re.fullmatch(_NUMBER, match.group(1))
    if number is None:
        raise InputError(f"{source}: geoReference parameter +{name} must be a number in degrees, "
                         f"got {match.group(1)!r}")
    return float(number.group(1))


def geo_reference(xodr_text: str, source: str = "OpenDRIVE map") -> tuple[float, float]:
    """(lat_ref, lon_ref) in degrees from the `<header><geoReference>` of an OpenDRIVE text.

    Defaults to (42.0, 2.0) as the leaderboard does when the element or a parameter is absent.
    `source` names the map in error messages.
    """
    try:
        root = ET.fromstring(xodr_text)
    except ET.ParseError as exc:
        raise InputError(f"{source}: not valid OpenDRIVE XML ({exc})") from exc
    lat_ref, lon_ref = DEFAULT_LAT_REF_DEG, DEFAULT_LON_REF_DEG
    for georef in root.iter("geoReference"):
        text = "".join(georef.itertext())
        lat_ref = _proj_param(text, "lat_0", lat_ref, source)
        lon_ref = _proj_param(text, "lon_0", lon_ref, source)
    return lat_ref, lon_ref


def location_to_gps(lat_ref: float, lon_ref: float, location: carla.Location) -> dict[str, float]:
    """{'lat', 'lon' (degrees), 'z' (metres)} of a CARLA world location (leaderboard formula)."""
    scale = math.cos(math.radians(lat_ref))
    mx = scale * lon_ref * math.pi * EARTH_RADIUS_EQUA_M / 180.0 + location.x
    my = scale * EARTH_RADIUS_EQUA_M * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0)) - location.y
    lon = mx * 180.0 / (math.pi * EARTH_RADIUS_EQUA_M * scale)
    lat = 360.0 * math.atan(math.exp(my / (EARTH_RADIUS_EQUA_M * scale))) / math.pi - 90.0
    return {"lat": lat, "lon": lon, "z": location.z}


def gps_to_location(lat_ref: float, lon_ref: float, gps: dict[str, float] | tuple[float, float, float]
                    ) -> carla.Location:
    """Inverse of `location_to_gps`: CARLA world location (metres) of a {'lat','lon','z'} point.

    Also accepts a GNSS sensor reading `(lat, lon, alt)`.
    """
    if isinstance(gps, dict):
        lat, lon, z = gps["lat"], gps["lon"], gps.get("z", 0.0)
    else:
        lat, lon, z = gps
    scale = math.cos(math.radians(lat_ref))
    mx0 = scale * lon_ref * math.pi * EARTH_RADIUS_EQUA_M / 180.0
    my0 = scale * EARTH_RADIUS_EQUA_M * math.log(math.tan((90.0 + lat_ref) * math.pi / 360.0))
    mx = lon * math.pi * EARTH_RADIUS_EQUA_M * scale / 180.0
    my = EARTH_RADIUS_EQUA_M * scale * math.log(math.tan((90.0 + lat) * math.pi / 360.0))
    return carla.Location(x=float(mx - mx0), y=float(my0 - my), z=float(z))
