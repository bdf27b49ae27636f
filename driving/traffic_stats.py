"""Is background traffic flowing? Counts of moving, queued and stuck vehicles over a window.

Why a count and not a picture: a deadlock at one junction in a 120-vehicle town is invisible in a
snapshot but shows as vehicles that have not moved for a minute. LB1.0 spawns 100-300 background
vehicles per town; a simulator whose junctions jam under that density scores its own bugs, so
`driving sim preview --stats` and the benchmarks report these numbers after 2 minutes of game
time. Works on any `World` (it only reads actor states and light states).

A vehicle is *moving* when it covered at least `MOVED_M` metres during the last `window_s`
seconds; a vehicle that did not is *queued at a light* when it stands within `LIGHT_QUEUE_M` of a
stop waypoint of a red or yellow light (the queue behind a red light is expected, not a jam),
otherwise *stuck*. Units: metres, seconds.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import carla

from driving.world import ActorKind, World

#: Metres a vehicle must cover within the window to count as moving.
MOVED_M = 5.0
#: A standing vehicle this close (metres) to a red/yellow stop line waits in the light's queue.
LIGHT_QUEUE_M = 40.0
#: Default window (seconds) over which movement is measured.
WINDOW_S = 30.0


@dataclass(frozen=True)
class TrafficStats:
    """Background vehicles after `game_seconds`: moving, queued at a red light, stuck (id, x, y)."""

    game_seconds: float
    window_s: float
    vehicles: int
    moving: int
    queued_at_light: int
    stuck: tuple[tuple[int, float, float], ...]

    @property
    def moving_share(self) -> float:
        """Share of vehicles that are moving or queued at a light (1.0: nothing is jammed)."""
        return 1.0 if self.vehicles == 0 else (self.moving + self.queued_at_light) / self.vehicles

    def summary(self) -> str:
        """One human-readable paragraph (what the CLI prints)."""
        lines = [(f"after {self.game_seconds:.0f} s game time: {self.vehicles} background vehicles, "
                 f"{self.moving} moved >= {MOVED_M:.0f} m in the last {self.window_s:.0f} s, "
                 f"{self.queued_at_light} waiting at red lights, {len(self.stuck)} stuck "
                 f"(flowing {100.0 * self.moving_share:.1f}%)")]
        for actor_id, x, y in self.stuck[:20]:
            lines.append(f"  stuck: vehicle {actor_id} at x {x:.1f} y {y:.1f}")
        if len(self.stuck) > 20:
            lines.append(f"  ... and {len(self.stuck) - 20} more")
        return "\n".join(lines)


class TrafficMonitor:
    """Samples background vehicle positions once per game second; `stats()` at any time.

    Call `sample(world)` after every tick (it only records when a new game second started)."""

    def __init__(self, window_s: float = WINDOW_S):
        if not (math.isfinite(window_s) and window_s > 0):
            raise ValueError(f"TrafficMonitor window_s: expected seconds > 0, got {window_s!r}")
        self.window_s = window_s
        self._history: deque[tuple[float, dict[int, tuple[float, float]]]] = deque()
        self._next_sample_s = 0.0

    def sample(self, world: World) -> None:
        now = world.elapsed_seconds
        if now + 1e-9 < self._next_sample_s:
            return
        self._next_sample_s = math.floor(now) + 1.0
        positions = {a.id: (a.transform.location.x, a.transform.location.y)
                     for a in world.get_actor_states()
                     if a.kind == ActorKind.VEHICLE and a.role_name != "hero"}
        self._history.append((now, positions))
        while len(self._history) > 1 and now - self._history[1][0] >= self.window_s:
            self._history.popleft()

    def stats(self, world: World) -> TrafficStats:
        """Counts over the oldest sample within the window and now."""
        self._next_sample_s = 0.0
        self.sample(world)
        t_then, then = self._history[0]
        t_now, now = self._history[-1]
        stops = _red_stop_points(world)
        moving = queued = 0
        stuck = []
        for actor_id, (x, y) in sorted(now.items()):
            old = then.get(actor_id)
            if old is None or math.hypot(x - old[0], y - old[1]) >= MOVED_M:
                moving += 1
            elif any(math.hypot(x - sx, y - sy) <= LIGHT_QUEUE_M for sx, sy in stops):
                queued += 1
            else:
                stuck.append((actor_id, x, y))
        return TrafficStats(game_seconds=t_now, window_s=min(self.window_s, t_now - t_then), vehicles=len(now),
                            moving=moving, queued_at_light=queued, stuck=tuple(stuck))


def _red_stop_points(world: World) -> list[tuple[float, float]]:
    states = world.light_states()
    stop = (carla.TrafficLightState.Red, carla.TrafficLightState.Yellow)
    return [(wp.transform.location.x, wp.transform.location.y)
            for tl in world.get_traffic_lights() if states.get(tl.id) in stop
            for wp in tl.stop_waypoints]


def run_and_measure(world: World, game_seconds: float, window_s: float = WINDOW_S) -> TrafficStats:
    """Tick `world` for `game_seconds` (with a progress bar) and return the traffic counts."""
    from tqdm import tqdm

    monitor = TrafficMonitor(window_s)
    for _ in tqdm(range(round(game_seconds / world.fixed_delta_seconds)), desc="simulating", unit="tick",
                  leave=False):
        world.tick()
        monitor.sample(world)
    return monitor.stats(world)
