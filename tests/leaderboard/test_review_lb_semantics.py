"""Review checks of official LB1.0 semantics: entry status and collision debouncing."""
from __future__ import annotations

import json

import carla
from lb_fixtures import ego

from driving.world import ActorKind, CollisionEvent
from leaderboard.criteria import CriteriaTick, TrafficEvent, TrafficEventType
from leaderboard.criteria.collision import CollisionTest
from leaderboard.results import new_results
from leaderboard.statistics import compute_route_record


def _record(index: int, *events: TrafficEvent):
    base = [TrafficEvent(TrafficEventType.ROUTE_COMPLETION, "", {"route_completed": 40.0})]
    return compute_route_record(f"RouteScenario_{index}", index, base + list(events), "", 100.0, 1.0, 1.0)


def test_criteria_failures_make_the_entry_finished_with_agent_errors(tmp_path):
    """Official save_global_record: any status containing "Agent" -> "Finished with agent errors"."""
    for kind in (TrafficEventType.VEHICLE_BLOCKED, TrafficEventType.ROUTE_DEVIATION,
                 TrafficEventType.ROUTE_TIMEOUT):
        path = tmp_path / f"{kind.value}.json"
        results = new_results(path, total=2)
        results.add(_record(0, TrafficEvent(TrafficEventType.ROUTE_COMPLETED, "done")))
        results.add(_record(1, TrafficEvent(kind, "x")))
        doc = json.loads(path.read_text())
        assert doc["_checkpoint"]["records"][1]["status"].startswith("Failed - Agent ")
        assert doc["entry_status"] == "Finished with agent errors", kind
        assert doc["eligible"] is True


def _at(x: float, z: float = 0.0) -> carla.Transform:
    return carla.Transform(carla.Location(x, 0.0, z), carla.Rotation())


def _hit(other_id: int, kind: ActorKind, type_id: str) -> CollisionEvent:
    return CollisionEvent(frame=0, actor_id=1, other_id=other_id, other_kind=kind, other_type_id=type_id,
                          impulse=carla.Vector3D(100, 0, 0), location=carla.Location())


def test_collision_areas_are_horizontal():
    """The official 3 m / 5 m areas use x, y only: 2.5 m away but 2.5 m higher is the same area."""
    test = CollisionTest()
    test.update(CriteriaTick(ego(_at(0.0)), 0.0, (_hit(7, ActorKind.VEHICLE, "vehicle.car"),)))
    test.update(CriteriaTick(ego(_at(2.5, z=2.5)), 0.5, (_hit(8, ActorKind.VEHICLE, "vehicle.car"),)))
    assert len(test.events) == 1


def test_traffic_light_is_remembered_by_id():
    """A traffic light is a CARLA actor with an id: scraping along it counts once (within 5 s)."""
    test = CollisionTest()
    test.update(CriteriaTick(ego(_at(0.0)), 0.0, (_hit(50, ActorKind.TRAFFIC_LIGHT, "traffic.traffic_light"),)))
    test.update(CriteriaTick(ego(_at(4.0)), 1.0, (_hit(50, ActorKind.TRAFFIC_LIGHT, "traffic.traffic_light"),)))
    assert [e.type for e in test.events] == [TrafficEventType.COLLISION_STATIC]
    # the map layout (buildings) is not remembered by id, as the official id-0 map actor
    test.update(CriteriaTick(ego(_at(20.0)), 2.0, (_hit(100, ActorKind.STATIC, "building"),)))
    test.update(CriteriaTick(ego(_at(24.0)), 2.5, (_hit(100, ActorKind.STATIC, "building"),)))
    assert len(test.events) == 3


def test_global_meta_sums_route_lengths_and_durations():
    """Official global meta: total_length is the plain sum of route lengths (no 1 m floor per route)."""
    from leaderboard.statistics import compute_global_record, failed_record

    done = compute_route_record("RouteScenario_0", 0, [TrafficEvent(TrafficEventType.ROUTE_COMPLETED, "ok")], "",
                                500.0, 3.0, 40.0)
    crashed = failed_record("RouteScenario_1", 1, "Simulation crashed", 0.0, 2.0)
    glob = compute_global_record([done, crashed])
    assert glob.meta["total_length"] == 500.0
    assert glob.meta["duration_game"] == 40.0 and glob.meta["duration_system"] == 5.0
