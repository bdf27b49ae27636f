"""A standoff half across a lane change: the expert's nose is in the next lane and a car stands
beside it there, waiting for the expert, while the expert waits for it. The expert backs up
(deadlock breaking) so the car can pass, then completes its lane change (CARLA's Town06 and
Town03 official routes ended "Agent got blocked" this way)."""
from __future__ import annotations

import math
from pathlib import Path

import carla
import pytest
from two_lane_road import lane_points, write_two_lane_road

from driving.sim.embedded_world import EmbeddedWorld
from driving.world import CollisionEvent
from planning.expert.driver import ExpertDriver
from planning.road_option import RoadOption


@pytest.fixture
def two_lanes(tmp_path: Path) -> Path:
    return write_two_lane_road(tmp_path)


def test_expert_backs_out_of_a_standoff_with_a_car_beside_its_nose_and_changes_lane(two_lanes: Path) -> None:
    with EmbeddedWorld() as world:
        carla_map = world.load_map(str(two_lanes), seed=0)
        first = lane_points(carla_map, 20.0, 40.0, right=False)
        second = lane_points(carla_map, 40.0, 250.0, right=True)
        plan = [(t, RoadOption.LANEFOLLOW) for t in first + second]
        lane_y = first[0].location.y
        side = 1.0 if second[0].location.y > lane_y else -1.0  # towards the second lane
        # the ego stands half across: centre 1.3 m over, nose 11 degrees into the second lane, too
        # far for the car beside to squeeze past
        yaw = math.degrees(math.atan2(side * math.sin(math.radians(11.0)), math.cos(math.radians(11.0))))
        ego = world.spawn_vehicle(carla.Transform(carla.Location(45.0, lane_y + side * 1.3, 0.3),
                                                  carla.Rotation(yaw=yaw)), role_name="hero")
        # a car in the second lane beside it, its front just behind the ego's nose
        npc = world.spawn_vehicle(carla.Transform(carla.Location(43.7, second[0].location.y, 0.3),
                                                  carla.Rotation(yaw=0.0)), role_name="npc", autopilot=True)
        driver = ExpertDriver(world, ego, plan)
        world.pop_events()
        hits = []
        backed_up = False
        for _ in range(int(60.0 / world.fixed_delta_seconds)):
            control = driver.step()
            backed_up = backed_up or control.reverse
            world.apply_control(ego, control)
            world.tick()
            hits += [e for e in world.pop_events() if isinstance(e, CollisionEvent) and e.actor_id == ego]
            if driver.route.remaining_m() < 3.0:
                break
        ego_x = world.get_actor_state(ego).transform.location.x
        npc_x = world.get_actor_state(npc).transform.location.x
        assert not hits and backed_up
        assert npc_x > 100.0, npc_x  # the car beside got past
        assert ego_x > 150.0, ego_x  # and the expert went on, in its new lane
        assert abs(world.get_actor_state(ego).transform.location.y - second[0].location.y) < 0.5


def _box(actor_id: int, x: float, y: float, yaw_deg: float, half: tuple[float, float], z: float = 0.0):
    from driving.tags import Tag
    from driving.world import ActorKind, ActorState

    return ActorState(id=actor_id, kind=ActorKind.VEHICLE, type_id="vehicle.truck", role_name="npc",
                      transform=carla.Transform(carla.Location(x, y, z), carla.Rotation(yaw=yaw_deg)),
                      velocity=carla.Vector3D(), angular_velocity_dps=0.0, speed_mps=0.0,
                      extent=carla.Vector3D(half[0], half[1], 0.8), tag=Tag.VEHICLES)


def test_the_creep_sweep_sees_a_truck_corner_in_front_of_a_turning_nose_but_not_beside_or_on_another_level() -> None:
    """Town03 training 22: turning left across an oncoming lane, the ego crept into the front
    corner of a standing truck that the route-centre check missed. The strip the ego's own box
    sweeps 1 m ahead (ego frame, its width + 0.1 m) catches that corner."""
    ego = _box(1, 0.0, 0.0, -30.0, (2.4, 0.95))
    yaw = math.radians(-30.0)
    nose_x, nose_y = 3.0 * math.cos(yaw), 3.0 * math.sin(yaw)  # 0.6 m ahead of the ego's front, on its axis
    truck = _box(2, nose_x + 4.0, nose_y + 0.5, 180.0, (4.0, 1.25))  # oncoming; its front corner at the nose
    assert not ExpertDriver._strip_clear(ego, [ego, truck], 0.0, 2.4 + 1.0, 0.1)
    beside = _box(3, 0.0 + 3.6 * math.sin(-yaw), 3.6 * math.cos(yaw), -30.0, (2.4, 0.95))  # next lane over
    assert ExpertDriver._strip_clear(ego, [ego, beside], 0.0, 2.4 + 1.0, 0.1)
    above = _box(4, nose_x + 4.0, nose_y + 0.5, 180.0, (4.0, 1.25), z=8.0)  # on a bridge deck overhead
    assert ExpertDriver._strip_clear(ego, [ego, above], 0.0, 2.4 + 1.0, 0.1)
