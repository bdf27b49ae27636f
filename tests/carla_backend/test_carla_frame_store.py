"""Per-frame collection of sensor data delivered from other threads, and map-request routing."""

from __future__ import annotations

import threading
import time

import carla
import numpy as np

from driving.carla_backend.config import CarlaServerConfig
from driving.carla_backend.connection import (
    is_opendrive_request,
    match_server_map,
    opendrive_parameters,
    unreachable_message,
)
from driving.carla_backend.sensors import WARMUP_TICKS, FrameStore, wait_plan


def test_wait_returns_once_another_thread_delivers_the_frame():
    store = FrameStore()
    image = np.zeros((4, 8, 4), np.uint8)

    def deliver() -> None:
        for frame in (100, 101, 102):
            time.sleep(0.05)
            store.put("rgb", frame, image + frame % 256)

    thread = threading.Thread(target=deliver)
    thread.start()
    assert store.wait(102, ["rgb"], timeout_s=5.0) == []
    thread.join()
    frame, data = store.get("rgb")
    assert frame == 102 and data[0, 0, 0] == 102


def test_wait_reports_what_is_missing_and_old_frames_never_replace_new_ones():
    store = FrameStore()
    store.put("lidar", 10, "new")
    store.put("lidar", 9, "late")  # a measurement of an older frame arriving late
    assert store.get("lidar") == (10, "new")
    assert store.wait(11, ["lidar", "gnss"], timeout_s=0.05) == ["lidar", "gnss"]
    assert store.wait(10, ["lidar"], timeout_s=0.0) == []
    store.drop("lidar")
    assert store.get("lidar") is None


def test_wait_plan_skips_new_sensors_and_is_lenient_while_warming_up():
    sensors = {
        "new": (True, 50),  # attached at this frame: nothing to wait for
        "warming": (True, 45),
        "steady": (True, 50 - WARMUP_TICKS - 1),
        "slow": (False, 0),  # sensor_tick above the step
    }
    strict, brief = wait_plan(50, sensors)
    assert strict == ["steady"] and brief == ["warming"]


def test_map_requests_are_routed_to_opendrive_or_to_the_server():
    assert is_opendrive_request("town_grid")
    assert is_opendrive_request("maps/custom.xodr") and is_opendrive_request("/data/Town01.xodr")
    assert not is_opendrive_request("Town01") and not is_opendrive_request("/Game/Carla/Maps/Town01")
    server_maps = ["/Game/Carla/Maps/Town01", "/Game/Carla/Maps/Town10HD_Opt"]
    assert match_server_map("Town01", server_maps) == "/Game/Carla/Maps/Town01"
    assert match_server_map("/Game/Carla/Maps/Town10HD_Opt", server_maps) == "/Game/Carla/Maps/Town10HD_Opt"
    assert match_server_map("Town02", server_maps) is None


def test_opendrive_generation_parameters_follow_the_config():
    cfg = CarlaServerConfig(opendrive_vertex_distance_m=1.0, opendrive_wall_height_m=0.0)
    params = opendrive_parameters(cfg)
    assert isinstance(params, carla.OpendriveGenerationParameters)
    assert params.vertex_distance == 1.0 and params.wall_height == 0.0
    assert params.max_road_length == cfg.opendrive_max_road_length_m and params.enable_pedestrian_navigation
    assert "no CARLA server answered at localhost:2000 within 60 s" in unreachable_message(cfg)
