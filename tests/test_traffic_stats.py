"""Traffic flow counts: every background vehicle is moving, queued at a red light or stuck."""
from __future__ import annotations

from pathlib import Path

import carla

from driving.cli import main
from driving.sim.embedded_world import EmbeddedWorld
from driving.traffic_stats import MOVED_M, TrafficMonitor, run_and_measure

CARLA_TOWN01 = Path(__file__).resolve().parent / "data" / "carla" / "Town01.xodr"


def test_counts_cover_every_vehicle_and_a_parked_car_is_not_moving() -> None:
    with EmbeddedWorld() as world:
        world.load_map("town_grid", seed=0)
        spawned = world.spawn_traffic(20, 0, seed=0)
        parked = world.spawn_vehicle(world.get_spawn_points()[-1], role_name="parked")
        world.apply_control(parked, carla.VehicleControl(hand_brake=True, brake=1.0))
        stats = run_and_measure(world, 40.0, window_s=20.0)
        assert stats.vehicles == len(spawned) + 1
        assert stats.moving + stats.queued_at_light + len(stats.stuck) == stats.vehicles
        assert stats.window_s == 20.0 and stats.game_seconds >= 40.0
        assert stats.moving >= 15, stats.summary()  # free-flowing small town: nearly all drive
        parked_state = world.get_actor_state(parked)
        stuck_ids = {actor_id for actor_id, _, _ in stats.stuck}
        assert parked in stuck_ids or stats.queued_at_light >= 1, stats.summary()
        assert parked_state.speed_mps == 0.0
        assert 0.0 <= stats.moving_share <= 1.0


def test_a_vehicle_counts_as_moving_only_after_covering_the_distance() -> None:
    with EmbeddedWorld() as world:
        world.load_map("town_grid", seed=0)
        car = world.spawn_vehicle(world.get_spawn_points()[0], role_name="npc")
        monitor = TrafficMonitor(window_s=5.0)
        monitor.sample(world)
        for _ in range(20 * 6):
            world.tick()
            monitor.sample(world)
        assert monitor.stats(world).moving == 0  # no control applied: it stands
        for _ in range(20 * 6):
            world.apply_control(car, carla.VehicleControl(throttle=0.6))
            world.tick()
            monitor.sample(world)
        moved = monitor.stats(world)
        assert moved.moving == 1, f"{moved.summary()} (needs >= {MOVED_M} m in the window)"


def test_preview_stats_on_carla_town01_with_lb1_density(tmp_path: Path, capsys) -> None:
    out = tmp_path / "t01.png"
    assert main(["sim", "preview", "--map", str(CARLA_TOWN01), "--vehicles", "lb1", "--walkers", "0",
                 "--seconds", "30", "--stats", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "asked for 120 vehicles" in text and "after 30 s game time: 120 background vehicles" in text
    assert out.is_file()
