"""Trigger volumes, stop-sign lanes, event records and off-road tracking on a real carla.Map."""

from __future__ import annotations

import math

import carla
import pytest

from driving.carla_backend.actor_state import walker_control_towards
from driving.carla_backend.events import EventSensors, collision_event, is_off_road, lane_invasion_event
from driving.carla_backend.signals import inside_box_xy, lanes_through_box, trigger_volume_in_world
from driving.errors import InputError
from driving.sim.maps import load_map
from driving.world import ActorKind, CollisionEvent, LaneInvasionEvent, OffRoadEvent
from driving.world_checks import check_control, check_location, check_transform


@pytest.fixture(scope="module")
def town() -> carla.Map:
    return load_map("town_grid").carla_map


def _two_lane_waypoint(town: carla.Map) -> carla.Waypoint:
    """A driving waypoint outside junctions with a same-direction driving lane on its left."""
    for wp in town.generate_waypoints(10.0):
        left = wp.get_left_lane()
        if (
            not wp.is_junction
            and left is not None
            and left.lane_type == carla.LaneType.Driving
            and left.lane_id * wp.lane_id > 0
        ):
            return wp
    raise AssertionError("town_grid has arterials with two lanes per direction")


def test_trigger_volume_is_moved_into_the_world_without_touching_the_actor_box():
    actor = carla.Transform(carla.Location(10.0, 20.0, 0.5), carla.Rotation(yaw=90.0))
    box = carla.BoundingBox(carla.Location(2.0, 0.0, 1.0), carla.Vector3D(1.5, 3.0, 1.0))
    centre, extent, yaw = trigger_volume_in_world(actor, box)
    assert (centre.x, centre.y, centre.z) == pytest.approx((10.0, 22.0, 1.5), abs=1e-5)
    assert (extent.x, extent.y, extent.z) == pytest.approx((1.5, 3.0, 1.0))
    assert yaw == pytest.approx(90.0)
    assert (box.location.x, box.location.y) == (2.0, 0.0)  # carla.Transform.transform works in place


def test_inside_box_respects_rotation_and_margin():
    centre, extent = carla.Location(0.0, 0.0, 0.0), carla.Vector3D(4.0, 1.0, 1.0)
    assert inside_box_xy(carla.Location(3.9, 0.0, 0.0), centre, extent, 0.0, 0.0)
    assert not inside_box_xy(carla.Location(3.9, 0.0, 0.0), centre, extent, 90.0, 0.0)
    assert inside_box_xy(carla.Location(0.0, 3.9, 0.0), centre, extent, 90.0, 0.0)
    assert inside_box_xy(carla.Location(0.0, 1.4, 0.0), centre, extent, 0.0, 0.5)


def test_stop_lanes_are_the_same_direction_lanes_crossing_the_box(town):
    wp = _two_lane_waypoint(town)
    loc, yaw = wp.transform.location, wp.transform.rotation.yaw
    narrow = lanes_through_box(town, loc, carla.Vector3D(1.0, 1.0, 1.0), yaw)
    assert [(w.road_id, w.lane_id) for w in narrow] == [(wp.road_id, wp.lane_id)]
    wide = lanes_through_box(town, loc, carla.Vector3D(1.0, 3.0 * wp.lane_width, 1.0), yaw)
    ids = {w.lane_id for w in wide}
    assert wp.lane_id in ids and wp.get_left_lane().lane_id in ids
    assert all(w.lane_id * wp.lane_id > 0 and w.lane_type == carla.LaneType.Driving for w in wide)
    far = carla.Location(loc.x + 5000.0, loc.y, loc.z)
    assert lanes_through_box(town, far, carla.Vector3D(1.0, 1.0, 1.0), yaw) == ()


def test_collision_and_lane_records():
    impulse, where = carla.Vector3D(100.0, 0.0, 0.0), carla.Location(1.0, 2.0, 0.0)
    hit = collision_event(7, 3, 9, "walker.pedestrian.0003", impulse, where)
    assert isinstance(hit, CollisionEvent) and hit.other_kind == ActorKind.WALKER and hit.other_id == 9
    assert collision_event(7, 3, 11, "vehicle.audi.a2", impulse, where).other_kind == ActorKind.VEHICLE
    wall = collision_event(7, 3, None, None, impulse, where)
    assert (wall.other_kind, wall.other_type_id, wall.other_id) == (ActorKind.STATIC, "static.unknown", 0)
    assert (
        collision_event(7, 3, 5, "static.prop.trafficcone01", impulse, where).other_kind == ActorKind.STATIC
    )
    lane = lane_invasion_event(8, 3, [carla.LaneMarkingType.Broken, carla.LaneMarkingType.Solid], where)
    assert isinstance(lane, LaneInvasionEvent)
    assert lane.crossed_lane_markings == (carla.LaneMarkingType.Broken, carla.LaneMarkingType.Solid)


def test_off_road_is_reported_once_when_leaving_the_lanes(town):
    wp = _two_lane_waypoint(town)
    on = wp.transform.location
    off = carla.Location(on.x + 5000.0, on.y + 5000.0, on.z)
    assert not is_off_road(town, on) and is_off_road(town, off)
    events = EventSensors()
    for frame, loc in enumerate([on, off, off, on, off]):
        events.update_off_road(frame, 42, loc, town)
    popped = events.pop()
    assert [e.frame for e in popped] == [1, 4]
    assert all(isinstance(e, OffRoadEvent) and e.actor_id == 42 for e in popped)
    assert events.pop() == []


def test_walker_steering_heads_straight_for_the_target():
    control, arrived = walker_control_towards(
        carla.Location(0.0, 0.0, 0.0), carla.Location(3.0, 4.0, 0.0), 1.5, 0.3
    )
    assert not arrived and control.speed == pytest.approx(1.5)
    assert (control.direction.x, control.direction.y) == pytest.approx((0.6, 0.8))
    control, arrived = walker_control_towards(
        carla.Location(2.9, 4.0, 0.0), carla.Location(3.0, 4.0, 0.0), 1.5, 0.3
    )
    assert arrived and control.speed == 0.0


def test_argument_checks():
    check_control(carla.VehicleControl(throttle=0.5, steer=-1.0, brake=0.0))
    with pytest.raises(InputError, match="control.steer"):
        check_control(carla.VehicleControl(steer=math.nan))
    with pytest.raises(InputError, match="carla.VehicleControl"):
        check_control({"throttle": 1.0})
    with pytest.raises(InputError, match="spawn_vehicle: transform yaw"):
        check_transform(carla.Transform(carla.Location(), carla.Rotation(yaw=math.inf)), "spawn_vehicle")
    copy = check_location(carla.Location(1.0, 2.0, 3.0), "target")
    assert (copy.x, copy.y, copy.z) == (1.0, 2.0, 3.0)
    with pytest.raises(InputError, match="target: expected a carla.Location"):
        check_location((1.0, 2.0), "target")
