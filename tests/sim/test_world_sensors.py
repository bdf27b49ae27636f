"""Sensors through the world: attached to an actor, read each frame, gone with the actor."""
from __future__ import annotations

import carla
import numpy as np
import pytest

from driving.errors import WorldError
from driving.sim.embedded_world import EmbeddedWorld
from driving.world import SensorSpec


def test_speedometer_gnss_and_imu_follow_the_ego():
    world = EmbeddedWorld()
    world.load_map("town_grid", seed=0)
    assert world.read_sensors() == {}
    ego = world.spawn_vehicle(world.get_spawn_points()[0])
    for spec in ({"type": "sensor.speedometer", "id": "speed"}, {"type": "sensor.other.gnss", "id": "gps"},
                 {"type": "sensor.other.imu", "id": "imu"}):
        world.attach_sensor(SensorSpec.from_dict(spec), ego)
    with pytest.raises(WorldError, match="unknown actor id"):
        world.attach_sensor(SensorSpec.from_dict({"type": "sensor.speedometer", "id": "x"}), 999)
    gps = []
    for _ in range(40):
        world.apply_control(ego, carla.VehicleControl(throttle=1.0))
        frame = world.tick()
        data = world.read_sensors()
        assert {k: v[0] for k, v in data.items()} == {"speed": frame, "gps": frame, "imu": frame}
        gps.append(np.asarray(data["gps"][1], np.float64))
    speed = world.get_actor_state(ego).speed_mps
    assert data["speed"][1]["speed"] == pytest.approx(speed, rel=1e-3)
    assert np.abs(gps[-1][:2] - gps[0][:2]).max() > 1e-5  # ~7 m driven shows in lat/lon
    world.destroy_actor(ego)
    assert world.read_sensors() == {}
    world.close()
