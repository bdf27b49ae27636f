"""GNSS <-> map coordinates with the leaderboard's Mercator formulas and the map geoReference."""
from __future__ import annotations

import math

import carla
import pytest

from driving.errors import InputError
from planning.gps import geo_reference, gps_to_location, location_to_gps

MERCATOR_M_PER_DEG_LON = math.pi * 6378137.0 / 180.0  # 111319.4908 m: one degree at the equator
MERCATOR_Y_AT_1_DEG_LAT_M = 111325.142866  # EPSG:3857 northing of latitude 1 degree


def _xodr(georef: str | None) -> str:
    inner = "" if georef is None else f"<geoReference><![CDATA[{georef}]]></geoReference>"
    return f'<?xml version="1.0"?><OpenDRIVE><header revMajor="1" revMinor="4">{inner}</header></OpenDRIVE>'


def test_reference_point_maps_to_reference_coordinates() -> None:
    gps = location_to_gps(42.0, 2.0, carla.Location(0.0, 0.0, 3.5))
    assert gps["lat"] == pytest.approx(42.0, abs=1e-12)
    assert gps["lon"] == pytest.approx(2.0, abs=1e-12)
    assert gps["z"] == 3.5


def test_known_mercator_values_at_the_equator() -> None:
    # CARLA y points south, so one degree north is y = -111325.14 m; carla.Location holds float32
    # (about 8 mm at 1e5 m), hence a 1e-7 degree (1 cm) tolerance
    gps = location_to_gps(0.0, 0.0, carla.Location(MERCATOR_M_PER_DEG_LON, -MERCATOR_Y_AT_1_DEG_LAT_M, 0.0))
    assert gps["lon"] == pytest.approx(1.0, abs=1e-7)
    assert gps["lat"] == pytest.approx(1.0, abs=1e-7)


def test_east_offset_scales_with_cos_lat() -> None:
    gps = location_to_gps(60.0, 10.0, carla.Location(1000.0, 0.0, 0.0))
    assert gps["lon"] - 10.0 == pytest.approx(1000.0 / (MERCATOR_M_PER_DEG_LON * 0.5), rel=1e-9)
    assert gps["lat"] == pytest.approx(60.0, abs=1e-12)


@pytest.mark.parametrize("lat_ref, lon_ref", [(42.0, 2.0), (49.0, 8.0), (-33.9, 151.2), (0.0, 0.0)])
@pytest.mark.parametrize("x, y, z", [(0.0, 0.0, 0.0), (1234.5, -987.6, 12.0), (-5000.25, 4321.0, -3.0)])
def test_round_trip_within_a_centimetre(lat_ref, lon_ref, x, y, z) -> None:
    loc = carla.Location(x, y, z)
    back = gps_to_location(lat_ref, lon_ref, location_to_gps(lat_ref, lon_ref, loc))
    assert back.distance(loc) < 0.01
    gps = location_to_gps(lat_ref, lon_ref, loc)
    sensor_reading = (gps["lat"], gps["lon"], gps["z"])  # GNSS sensor order
    assert gps_to_location(lat_ref, lon_ref, sensor_reading).distance(loc) < 0.01


def test_geo_reference_from_opendrive_header() -> None:
    text = _xodr("+proj=tmerc +lat_0=49.0 +lon_0=8.0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
    assert geo_reference(text) == (49.0, 8.0)
    assert geo_reference(_xodr("+proj=tmerc +lat_0=-12.5e0 +lon_0=-0.25")) == (-12.5, -0.25)


def test_geo_reference_defaults_like_the_leaderboard() -> None:
    assert geo_reference(_xodr(None)) == (42.0, 2.0)
    assert geo_reference(_xodr("+proj=tmerc +lon_0=8.0")) == (42.0, 8.0)


def test_geo_reference_errors_name_the_source() -> None:
    with pytest.raises(InputError, match=r"Town99.xodr: geoReference parameter \+lat_0 must be a number"):
        geo_reference(_xodr("+proj=tmerc +lat_0=north +lon_0=8.0"), "Town99.xodr")
    with pytest.raises(InputError, match="Town99.xodr: not valid OpenDRIVE XML"):
        geo_reference("<OpenDRIVE><header>", "Town99.xodr")
