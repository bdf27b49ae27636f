"""Connecting to a CARLA server that is not there fails fast with one clear message; config checks."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from driving.carla_backend.config import CarlaServerConfig, with_overrides
from driving.carla_backend.traffic import spawn_background_traffic
from driving.carla_backend.world import CarlaServerWorld
from driving.config import load_config
from driving.errors import InputError


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_gives_one_clear_input_error_within_the_timeout():
    port = _closed_port()
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        CarlaServerWorld(host="127.0.0.1", port=port, timeout_s=1.0)
    message = str(info.value)
    assert message == (
        f"no CARLA server answered at 127.0.0.1:{port} within 1 s "
        f"(start CarlaUE4.sh or use --backend embedded)"
    )
    assert time.monotonic() - start < 15.0  # bounded by the timeout, not by a hang


def test_every_world_method_is_implemented():
    assert not CarlaServerWorld.__abstractmethods__


def test_traffic_counts_are_checked_before_anything_spawns():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="n_vehicles must be an integer >= 0"):
        spawn_background_traffic(None, [], lambda: None, -1, 0, rng)
    with pytest.raises(InputError, match="n_walkers must be an integer >= 0"):
        spawn_background_traffic(None, [], lambda: None, 0, 2.5, rng)
    assert spawn_background_traffic(None, [], lambda: None, 0, 0, rng) == []


def test_unknown_backend_option_is_named_before_connecting():
    with pytest.raises(InputError, match=r"unknown option\(s\) \['prot'\].*'port'"):
        CarlaServerWorld(prot=2000)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("port", 0, "TCP port"),
        ("port", 70000, "TCP port"),
        ("port", True, "TCP port"),
        ("traffic_manager_port", "8000", "TCP port"),
        ("timeout_s", 0.0, "> 0"),
        ("timeout_s", float("nan"), "> 0"),
        ("host", " ", "host"),
        ("traffic_manager_seed", -1, ">= 0"),
        ("opendrive_wall_height_m", -1.0, ">= 0"),
        ("events_for_autopilot", 1, "true/false"),
    ],
)
def test_config_rejects_bad_values(field, value, expected):
    with pytest.raises(InputError, match=f"CarlaServerConfig.{field}: .*{expected}"):
        CarlaServerConfig(**{field: value})


def test_overrides_replace_fields_and_keep_the_rest():
    base = CarlaServerConfig(sensor_timeout_s=3.0)
    cfg = with_overrides(base, {"host": "10.0.0.2", "port": 2010})
    assert (cfg.host, cfg.port, cfg.sensor_timeout_s, cfg.address) == ("10.0.0.2", 2010, 3.0, "10.0.0.2:2010")
    assert with_overrides(None, {}) == CarlaServerConfig()


def test_config_loads_from_yaml_and_names_unknown_keys(tmp_path):
    good = tmp_path / "carla.yaml"
    good.write_text("host: carla-box\nport: 2002\ntraffic_manager_port: 8002\ntimeout_s: 30\n")
    cfg = load_config(CarlaServerConfig, good)
    assert (cfg.host, cfg.port, cfg.traffic_manager_port, cfg.timeout_s) == ("carla-box", 2002, 8002, 30.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text("hots: carla-box\n")
    with pytest.raises(InputError, match=r"bad.yaml.*unknown key\(s\) \['hots'\]"):
        load_config(CarlaServerConfig, bad)


def test_version_mismatch_is_one_line_naming_both_versions():
    from driving.carla_backend.connection import version_mismatch_message

    assert version_mismatch_message("0.9.16", "0.9.16") is None
    assert version_mismatch_message("0.9.16", "0.9.16-dirty") is None
    message = version_mismatch_message("0.9.16", "0.9.15")
    assert message is not None and "\n" not in message
    assert "0.9.16" in message and "0.9.15" in message and "carla==0.9.15" in message
