"""The privileged expert driver: reads the World, drives the dense route, explains itself in labels.

One step: localise on the route; take the lowest of the speed limits that apply (cruise speed,
curves and junctions ahead, red/yellow lights and stop signs, vehicles and walkers forecast on
the path ahead); track that speed with a windowed PID and the route with pure pursuit. The
reasons it slowed down become the labels a dataset needs (`labels()`), with TransFuser's names.
Units: metres, seconds, m/s, radians inside; CARLA world coordinates.
"""
from __future__ import annotations

import math
from typing import Any

import carla
import numpy as np
import shapely

from control.pid import PIDController
from driving.geometry import box_corners
from driving.world import ActorKind, ActorState, World
from planning.expert.config import ExpertConfig
from planning.expert.forecast import constant_velocity_track, lane_tracks
from planning.expert.hazards import Obstacle, follow_speed_mps, lead_in_front, nearest_obstacle
from planning.expert.lane_change import rear_conflict
from planning.expert.overtake import Overtaker, OvertakeState
from planning.expert.route_tracker import RouteTracker
from planning.expert.signals_ahead import ENTRY_MAX_M, SignalMonitor, match_stop_lines

GRAVITY_MPS2 = 9.81
#: Below this target speed (m/s) the expert holds the car with full brake.
HOLD_SPEED_MPS = 0.3
#: Overspeed (m/s) above the target before the expert brakes instead of coasting.
BRAKE_MARGIN_MPS = 0.3
#: Path ahead checked for obstacles (metres): braking distance + time gap + this, at least PATH_MIN_M.
PATH_EXTRA_M = 15.0
PATH_MIN_M = 20.0
#: An actor slower than this (m/s) stands still.
STANDING_MPS = 0.1
#: The front stops this far (m) before a signalized junction's entry when it holds there (`_box_limit`).
BOX_STOP_MARGIN_M = 0.5
#: A standing vehicle whose heading differs from the route's by more than this crosses it.
CROSSING_ANGLE_RAD = math.radians(30.0)
#: Bumper gap (metres) kept while creeping.
CREEP_GAP_M = 0.5
#: While creeping, the ego's own box pushed this far ahead (metres), widened by the creep margin,
#: must touch no other box: the path check looks along the route's centre line, and the nose of a
#: turning ego swings outside that corridor (Town03 training 22: it crept into the front corner
#: of a standing truck while turning left across its lane).
CREEP_SWEEP_M = 1.0
#: Deadlock breaking when creeping is impossible (the other vehicle stands on the ego's path and
#: waits for the ego): back up this far (metres) at most this fast (m/s) with this throttle, if
#: nothing stands behind within REVERSE_CLEAR_M and no stop line lies behind.
REVERSE_M = 3.0
REVERSE_MAX_MPS = 1.5
REVERSE_THROTTLE = 0.3
REVERSE_CLEAR_M = 5.0
REVERSE_SIDE_M = 0.3
#: A vehicle behind the ego heading within ~45 deg of it follows the ego (never an obstacle ahead).
FOLLOW_COS = math.cos(math.radians(45.0))
#: Inside a lane-change zone the ego stops for a conflict in the target lanes only if it can
#: stop before the zone's last hold point braking at most this hard (m/s^2); otherwise it goes on.
ABORT_DECEL_MPS2 = 5.0
#: A standing vehicle whose front is at most this far (metres) ahead of the ego's front is beside it.
BESIDE_AHEAD_M = 1.0
#: Stop lines up to this far behind the ego's centre (metres) may still hold it: a light's junction
#: entry lies up to ENTRY_MAX_M past its line, and a red holds until the tail is through it.
LIGHT_BEHIND_M = ENTRY_MAX_M + 10.0
#: Radius (metres) within which a junction on the route counts for the `junction` label.
JUNCTION_LABEL_M = 0.5


def _follows(other: ActorState, ego: ActorState) -> bool:
    """Whether `other` is behind the ego and heading its way (following or about to overtake).

    Such a vehicle is never an obstacle ahead: its forecast runs through the ego's path ahead,
    but the ego gets there first. Braking for it made followers run into the expert on CARLA's
    Town04 (lane changes into target lanes are checked separately, `lane_change`)."""
    yaw = math.radians(ego.transform.rotation.yaw)
    d = other.transform.location - ego.transform.location
    along = d.x * math.cos(yaw) + d.y * math.sin(yaw)
    diff = math.radians(other.transform.rotation.yaw) - yaw
    return along < -ego.extent.x and math.cos(diff) > FOLLOW_COS


class ExpertDriver:
    """Drives one route on a World with ground truth; construct per route, call `step` each frame."""

    def __init__(self, world: World, ego_id: int, dense_plan: list[tuple[carla.Transform, Any]],
                 config: ExpertConfig | None = None,
                 sparse_plan: list[tuple[carla.Transform, Any]] | None = None) -> None:
        self.world = world
        self.ego_id = ego_id
        self.config = config or ExpertConfig()
        self.route = RouteTracker(dense_plan, world.get_map(), sparse_plan)
        self.signals = SignalMonitor(match_stop_lines(self.route, world.get_traffic_lights(),
                                                      world.get_stop_signs()),
                                     self.config.yellow_max_decel_mps2, self.config.stop_sign_wait_s,
                                     self.config.yellow_time_s, 2.0 * world.get_actor_state(ego_id).extent.x)
        self.speed_pid = PIDController(self.config.speed_gains)
        self._labels: dict[str, Any] = {}
        #: The nearest vehicle and walker obstacles of the last step (None when the path was clear).
        self._box_entry_m = math.nan  # the junction entry the ego holds before (`_box_limit`)
        self.obstacles: dict[str, Obstacle | None] = {"vehicle": None, "walker": None}
        self._blocked_s = 0.0  # standing still for a standing crossing vehicle (s)
        self._creep_left_s = 0.0  # deadlock breaking still active (s)
        self._reverse_from: carla.Location | None = None  # backing up from here (deadlock breaking)
        self._lane_change_wait_s = 0.0  # waiting before a lane change for a gap (s)
        self.overtake = Overtaker(world, self.route, self.signals, self.config.overtake_after_s, STANDING_MPS,
                                  self.config.comfort_decel_mps2)

    # ---- speed limits --------------------------------------------------------------------
    def _curve_speed_mps(self, horizon_m: float) -> float:
        """Highest speed now that still reaches every curve/junction ahead at its own cap."""
        cfg, r = self.config, self.route
        idx = r.ahead(horizon_m)
        kappa = r.curvature[idx]
        cap = np.sqrt(cfg.max_lateral_accel_mps2 / np.maximum(kappa, 1e-6))
        cap = np.where(r.junction[idx], np.minimum(cap, cfg.junction_speed_mps), cap)
        d = np.maximum(r.s[idx] - r.s_ego, 0.0)
        return float(np.min(np.sqrt(cap * cap + 2.0 * cfg.comfort_decel_mps2 * d)))

    def _obstacle(self, actors: list[ActorState], ego: ActorState, horizon_m: float,
                  kind: ActorKind, margin_m: float, forecast_s: float | None = None) -> Obstacle | None:
        r, cfg = self.route, self.config
        loc = ego.transform.location
        near = [a for a in actors if a.kind == kind and a.id != self.ego_id
                and a.transform.location.distance(loc) < cfg.hazard_range_m and not _follows(a, ego)]
        idx = r.ahead(horizon_m)
        d = r.s[idx] - r.s_ego
        keep = d >= 0.0
        horizon_s = cfg.forecast_horizon_s if forecast_s is None else forecast_s
        times = np.arange(0.0, horizon_s + 1e-9, cfg.forecast_step_s)
        tracks = [constant_velocity_track(a, times) for a in near]
        if horizon_s > 0.0 and kind == ActorKind.VEHICLE:
            carla_map = self.world.get_map()
            tracks += [t for a in near for t in lane_tracks(a, times, carla_map)]
        return nearest_obstacle(tracks, times, r.xy[idx][keep], d[keep], r.heading[idx][keep],
                                abs(ego.speed_mps), ego.extent.y + margin_m)

    @staticmethod
    def _standing(obstacle: Obstacle, actors: list[ActorState]) -> ActorState | None:
        """The obstacle's state when it stands still (None: moving or gone)."""
        state = next((a for a in actors if a.id == obstacle.actor_id), None)
        return state if state is not None and abs(state.speed_mps) <= STANDING_MPS else None

    def _crossing_and_standing(self, state: ActorState, obstacle: Obstacle) -> bool:
        """Whether the standing obstacle stands across the route (not a queue in the ego's lane)."""
        r = self.route
        k = min(int(np.searchsorted(r.s, r.s_ego + obstacle.distance_m)), len(r) - 1)
        diff = math.radians(state.transform.rotation.yaw) - r.heading[k]
        return abs(math.atan2(math.sin(diff), math.cos(diff))) > CROSSING_ANGLE_RAD

    @staticmethod
    def _beside_and_standing(state: ActorState, ego: ActorState) -> bool:
        """Whether the standing obstacle stands beside the ego (its front not ahead of the ego's
        front by more than BESIDE_AHEAD_M), heading the ego's way: a car in the lane the ego moves
        into that waits for the ego's nose in its lane while the ego waits for it. Backing up frees it."""
        yaw = math.radians(ego.transform.rotation.yaw)
        d = state.transform.location - ego.transform.location
        along = d.x * math.cos(yaw) + d.y * math.sin(yaw)
        diff = math.radians(state.transform.rotation.yaw) - yaw
        return along + state.extent.x < ego.extent.x + BESIDE_AHEAD_M and math.cos(diff) > math.cos(CROSSING_ANGLE_RAD)

    def _vehicle_limit(self, actors: list[ActorState], ego: ActorState, horizon_m: float,
                       dt_s: float) -> tuple[Obstacle | None, float | None]:
        """The vehicle obstacle and the speed it allows (None: no limit), with deadlock breaking."""
        cfg, hl = self.config, ego.extent.x
        if self._creep_left_s > 0.0:
            self._creep_left_s -= dt_s
            obstacle = self._obstacle(actors, ego, horizon_m, ActorKind.VEHICLE, cfg.creep_margin_m, 0.0)
            allowed = cfg.creep_speed_mps if obstacle is None else min(
                cfg.creep_speed_mps, follow_speed_mps(obstacle, hl, CREEP_GAP_M, 0.0, cfg.comfort_decel_mps2))
            if not self._strip_clear(ego, actors, 0.0, hl + CREEP_SWEEP_M, cfg.creep_margin_m):
                allowed = 0.0
            if allowed < HOLD_SPEED_MPS and abs(ego.speed_mps) < STANDING_MPS:  # cannot creep: back up
                self._creep_left_s = 0.0
                self._reverse_from = ego.transform.location
            return obstacle, allowed
        obstacle = self._obstacle(actors, ego, horizon_m, ActorKind.VEHICLE, cfg.vehicle_margin_m)
        front = lead_in_front(ego, actors, horizon_m, cfg.vehicle_margin_m)
        if front is not None and (obstacle is None or front.distance_m < obstacle.distance_m):
            obstacle = front
        if obstacle is None:
            self._blocked_s = 0.0
            return None, None
        standing = self._standing(obstacle, actors) if abs(ego.speed_mps) < STANDING_MPS else None
        if standing is not None and (self._crossing_and_standing(standing, obstacle)
                                     or self._beside_and_standing(standing, ego)):
            self._blocked_s += dt_s
            if self._blocked_s >= cfg.creep_after_s:
                self._blocked_s = 0.0
                self._creep_left_s = cfg.creep_duration_s
        else:
            self._blocked_s = 0.0
        return obstacle, follow_speed_mps(obstacle, hl, cfg.stop_gap_m, cfg.follow_time_gap_s,
                                          cfg.comfort_decel_mps2)

    def _box_limit(self, vehicle: Obstacle | None, v: float, hl: float, horizon_m: float) -> float | None:
        """Speed that stops the front before a signalized junction's entry when the vehicle ahead
        would otherwise stop the ego with its body across that entry (None: no such case).

        The official red-light test fires when the light turns red while the line lies under the
        ego's tail, standing or not: braking for a car crossing just past the entry left the ego
        straddling it, and the light changed (Town03 training 26). Only when the stop before the
        entry takes at most `yellow_max_decel_mps2`; otherwise the ego goes on as before."""
        cfg, r = self.config, self.route
        if vehicle is None:  # creeping out of a deadlock with nothing ahead on the path
            self._box_entry_m = math.nan
            return None
        front = r.s_ego + hl
        entry = self.signals.light_entry_ahead_m(front, horizon_m)
        stop_front = r.s_ego + vehicle.distance_m - cfg.stop_gap_m
        if not math.isfinite(entry) or not entry < stop_front < entry + self.signals.passed_m():
            self._box_entry_m = math.nan
            return None
        room = entry - front - BOX_STOP_MARGIN_M
        if entry != self._box_entry_m:  # a new hold: only if the ego can still stop before the entry
            if room <= 0.0 or v * v > 2.0 * cfg.yellow_max_decel_mps2 * room:
                return None
            self._box_entry_m = entry
        return math.sqrt(2.0 * cfg.comfort_decel_mps2 * max(room, 0.0))

    def _lane_change_limit(self, ego: ActorState, actors: list[ActorState], v: float, horizon_m: float,
                           dt_s: float) -> float | None:
        """Speed that stops the ego's front before the commit point of the next lane-change zone
        (still in its own lane) while its target lanes are not free alongside or behind it (None:
        no zone ahead, past the last hold point, or the gap is free). Checking on up to the commit
        point, not only before the zone, catches a fast car that enters the target lanes late;
        past it (crawling up to it overshoots) a conflict stops the ego at once up to the last
        hold point, where its body would begin to reach into the target lane."""
        r, cfg = self.route, self.config
        front = r.s_ego + ego.extent.x
        zone = next((z for z in r.lane_changes if z.s_end_m > r.s_ego), None)
        if zone is None or zone.last_hold_s_m() <= front or zone.s_start_m - r.s_ego > horizon_m:
            self._lane_change_wait_s = 0.0
            return None
        if rear_conflict(zone, ego, actors, self._lane_change_wait_s, front) is None:
            return None
        if front > zone.s_start_m and v * v > 2.0 * ABORT_DECEL_MPS2 * (zone.last_hold_s_m() - front):
            return None  # moving across already and too close to stop before the last hold point: go on
        if v < STANDING_MPS:
            self._lane_change_wait_s += dt_s
        return math.sqrt(2.0 * cfg.comfort_decel_mps2 * max(zone.commit_s_m() - front, 0.0))

    # ---- one step ------------------------------------------------------------------------
    def step(self) -> carla.VehicleControl:
        """Read the world, decide, and return this frame's control (also fills `labels()`)."""
        cfg, r, world = self.config, self.route, self.world
        ego = world.get_actor_state(self.ego_id)
        loc = ego.transform.location
        yaw = math.radians(ego.transform.rotation.yaw)
        v = abs(ego.speed_mps)
        r.update(loc.x, loc.y)
        hl = ego.extent.x
        horizon = max(PATH_MIN_M, v * v / (2.0 * cfg.comfort_decel_mps2) + v * cfg.follow_time_gap_s
                      + PATH_EXTRA_M)

        limits = {"cruise": cfg.cruise_speed_mps, "curve": self._curve_speed_mps(horizon)}
        light_states = {line.signal_id: world.get_traffic_light_state(line.signal_id)
                        for line in self.signals.lines if line.is_light
                        and -LIGHT_BEHIND_M < line.s_m - r.s_ego < horizon + hl}
        gap = self.signals.stop_distance_m(r.s_ego + hl, v, light_states, world.fixed_delta_seconds, horizon)
        if math.isfinite(gap):
            limits["signal"] = math.sqrt(2.0 * cfg.comfort_decel_mps2 * max(gap - cfg.stop_line_gap_m, 0.0))

        actors = world.get_actor_states()
        vehicle, vehicle_speed = self._vehicle_limit(actors, ego, horizon, world.fixed_delta_seconds)
        if vehicle_speed is not None:
            limits["vehicle"] = vehicle_speed
            box = self._box_limit(vehicle, v, hl, horizon)
            if box is not None:
                limits["box"] = box
        # passing standing blockers through the oncoming lane: hold where the pass can start (a
        # vehicle limit: the ego waits for the blockers), cap the speed while the path is shifted
        hold, cap = self.overtake.step(ego, actors, vehicle, limits, world.fixed_delta_seconds)
        if hold is not None:
            limits["vehicle"] = min(limits.get("vehicle", hold), hold)
        if cap is not None:
            limits["overtake"] = cap
        if self.overtake.state != OvertakeState.IDLE:
            self._blocked_s = 0.0  # no deadlock creeping towards blockers that are to be passed
        gap_limit = self._lane_change_limit(ego, actors, v, horizon, world.fixed_delta_seconds)
        if gap_limit is not None:
            limits["lane_change"] = gap_limit
        walker = self._obstacle(actors, ego, horizon, ActorKind.WALKER, cfg.walker_margin_m)
        if walker is not None:
            limits["walker"] = follow_speed_mps(walker, hl, cfg.stop_gap_m, cfg.follow_time_gap_s,
                                                cfg.comfort_decel_mps2)
        self.obstacles = {"vehicle": vehicle, "walker": walker}
        target = max(0.0, min(limits.values()))
        control, angle = self._control(ego, yaw, v, target)
        if self._reverse_from is not None:
            control = self._reverse(ego, actors, control)
        self._fill_labels(ego, yaw, v, target, limits, angle, control)
        return control

    def _control(self, ego: ActorState, yaw: float, v: float, target: float) -> tuple[carla.VehicleControl, float]:
        cfg, r = self.config, self.route
        loc = ego.transform.location
        # pure pursuit from the rear axle towards the route point `lookahead` ahead of the centre
        lookahead = max(cfg.lookahead_min_m, cfg.lookahead_gain_s * v)
        aim = r.point_at(r.s_ego + lookahead)
        rear_x = loc.x - 0.5 * cfg.wheelbase_m * math.cos(yaw)
        rear_y = loc.y - 0.5 * cfg.wheelbase_m * math.sin(yaw)
        alpha = math.atan2(aim[1] - rear_y, aim[0] - rear_x) - yaw
        alpha = math.atan2(math.sin(alpha), math.cos(alpha))
        dist = max(math.hypot(aim[0] - rear_x, aim[1] - rear_y), 1e-3)
        wheel = math.atan2(2.0 * cfg.wheelbase_m * math.sin(alpha), dist)
        steer = float(np.clip(wheel / math.radians(cfg.max_steer_deg), -1.0, 1.0))

        # signed: rolling back down a ramp is a speed below the target (more throttle), not
        # above it (braking, which let the ego roll back into the car behind: Town03 training 18)
        v = ego.speed_mps
        throttle, brake = 0.0, 0.0
        if target < HOLD_SPEED_MPS:
            brake = 1.0
            self.speed_pid.reset()
        elif v > target + BRAKE_MARGIN_MPS:
            brake = float(np.clip(cfg.brake_gain * (v - target), 0.0, 1.0))
            self.speed_pid.step(target - v)
        else:
            climb = max(GRAVITY_MPS2 * math.sin(math.radians(ego.transform.rotation.pitch)), 0.0) \
                / cfg.full_throttle_accel_mps2
            throttle = float(np.clip(self.speed_pid.step(target - v) + climb, 0.0, min(cfg.max_throttle + climb, 1.0)))
        return carla.VehicleControl(throttle=throttle, steer=steer, brake=brake), alpha

    def _reverse(self, ego: ActorState, actors: list[ActorState],
                 control: carla.VehicleControl) -> carla.VehicleControl:
        """Back up straight (deadlock breaking) while the space behind is free; else stop backing."""
        loc, hl = ego.transform.location, ego.extent.x
        r = self.route
        backed = loc.distance(self._reverse_from)
        line_behind = any(r.s_ego - (REVERSE_M + hl + 2.0) < line.s_m <= r.s_ego + hl for line in self.signals.lines)
        if backed >= REVERSE_M or line_behind or not self._strip_clear(
                ego, actors, -(hl + REVERSE_CLEAR_M), 0.0, REVERSE_SIDE_M):
            self._reverse_from = None
            return control
        throttle = REVERSE_THROTTLE if abs(ego.speed_mps) < REVERSE_MAX_MPS else 0.0
        return carla.VehicleControl(throttle=throttle, steer=0.0, brake=0.0, reverse=True)

    @staticmethod
    def _strip_clear(ego: ActorState, actors: list[ActorState], back_m: float, front_m: float,
                     side_m: float) -> bool:
        """No vehicle's or walker's box on the ego's level reaches into the strip from `back_m` to
        `front_m` (metres along the ego's heading from its centre), its own width plus `side_m`
        each side. Boxes, not centres: backing up (centre to REVERSE_CLEAR_M behind the rear
        bumper), a car standing beside the ego's nose (the one it backs up for) is not behind it."""
        loc = ego.transform.location
        yaw = math.radians(ego.transform.rotation.yaw)
        c, s = math.cos(yaw), math.sin(yaw)
        strip = shapely.box(back_m, -(ego.extent.y + side_m), front_m, ego.extent.y + side_m)
        reach = max(abs(back_m), abs(front_m))
        for a in actors:
            if a.id == ego.id or a.kind not in (ActorKind.VEHICLE, ActorKind.WALKER) \
                    or abs(a.transform.location.z - loc.z) > ego.extent.z + a.extent.z:
                continue
            dx, dy = a.transform.location.x - loc.x, a.transform.location.y - loc.y
            lx, ly = dx * c + dy * s, -dx * s + dy * c
            if math.hypot(lx, ly) > reach + a.extent.x + a.extent.y:
                continue
            corners = box_corners(lx, ly, math.radians(a.transform.rotation.yaw) - yaw, a.extent.x, a.extent.y)
            if strip.intersects(shapely.Polygon(corners)):
                return False
        return True

    # ---- labels --------------------------------------------------------------------------
    def _planned_positions(self, v: float, target: float) -> list[list[float]]:
        """Where the expert plans to be every `label_waypoint_spacing_s` (world x, y): it moves
        along the route, reaching `target` speed at comfort acceleration/deceleration."""
        cfg, r = self.config, self.route
        out, s, speed = [], r.s_ego, v
        dt = 0.05
        steps = round(cfg.label_waypoint_spacing_s / dt)
        lo, hi = -cfg.comfort_decel_mps2 * dt, cfg.max_accel_mps2 * dt
        for _ in range(cfg.label_waypoints):
            for _ in range(steps):  # Python floats: this runs 30x per tick, numpy scalars cost 10x more
                speed = max(0.0, speed + min(max(target - speed, lo), hi))
                s += speed * dt
            out.append([float(c) for c in r.point_at(s)])
        return out

    def _fill_labels(self, ego: ActorState, yaw: float, v: float, target: float, limits: dict[str, float],
                     angle: float, control: carla.VehicleControl) -> None:
        r = self.route
        point, command, next_command = r.target()

        def binding(name: str) -> bool:
            return name in limits and limits[name] <= target + 1e-6 and limits[name] < self.config.cruise_speed_mps

        loc = ego.transform.location
        self._labels = {
            "x": loc.x, "y": loc.y, "theta": yaw + math.pi / 2, "speed": v,
            "target_speed": target,
            "waypoints": self._planned_positions(v, target),
            "x_command": float(point[0]), "y_command": float(point[1]),
            "command": int(command), "next_command": int(next_command),
            "light_hazard": bool(self.signals.light_hazard),
            "stop_sign_hazard": bool(self.signals.stop_sign_hazard and binding("signal")),
            "vehicle_hazard": binding("vehicle") or binding("lane_change") or binding("box"),
            "walker_hazard": binding("walker"),
            "junction": bool(r.junction[r.ahead(JUNCTION_LABEL_M)].any()),
            "angle": math.degrees(angle) / 90.0,
            "steer": control.steer, "throttle": control.throttle, "brake": control.brake,
            "reverse": bool(control.reverse),
            "ego_matrix": [list(row) for row in ego.transform.get_matrix()],
            "route_index": r.index, "route_remaining_m": r.remaining_m(),
            "limits": dict(limits),
            "overtake": self.overtake.state.value,
        }

    def labels(self) -> dict[str, Any]:
        """This step's labels (TransFuser measurement names), documented in `expert_agent`."""
        return dict(self._labels)

