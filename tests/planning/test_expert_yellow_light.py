"""On yellow the expert goes only when its tail clears the junction entry before the light turns red."""
from __future__ import annotations

import math

import carla

from planning.expert.signals_ahead import SignalMonitor, StopLine

YELLOW = carla.TrafficLightState.Yellow
LINE = StopLine(signal_id=7, is_light=True, s_m=100.0, entry_s_m=105.25)


def _monitor() -> SignalMonitor:
    return SignalMonitor([LINE], yellow_max_decel_mps2=4.5, stop_sign_wait_s=0.5, yellow_s=3.0, ego_length_m=4.6)


def test_a_comfortable_stop_is_taken() -> None:
    gap = _monitor().stop_distance_m(90.0, 6.0, {7: YELLOW}, 0.05, 50.0)  # 10 m at 6 m/s: 1.8 m/s^2
    assert gap == 10.0


def test_too_close_to_stop_and_fresh_yellow_goes_through() -> None:
    # 1.5 m before the line at 4 m/s: 5.3 m/s^2 to stop; tail clears the entry after 11.35 m < 12 m
    assert math.isinf(_monitor().stop_distance_m(98.5, 4.0, {7: YELLOW}, 0.05, 50.0))


def test_too_close_but_late_in_the_yellow_stops_hard_instead_of_running_the_red() -> None:
    monitor = _monitor()
    monitor.stop_distance_m(60.0, 4.0, {7: YELLOW}, 0.05, 50.0)  # first saw the yellow 40 m before
    for _ in range(39):  # 2 s later, right before the line
        monitor.stop_distance_m(60.0, 4.0, {7: YELLOW}, 0.05, 50.0)
    gap = monitor.stop_distance_m(98.5, 4.0, {7: YELLOW}, 0.05, 50.0)
    assert gap == 1.5 and monitor.light_hazard


def test_a_new_yellow_phase_restarts_the_clock() -> None:
    monitor = _monitor()
    for _ in range(60):
        monitor.stop_distance_m(60.0, 4.0, {7: YELLOW}, 0.05, 50.0)
    monitor.stop_distance_m(60.0, 4.0, {7: carla.TrafficLightState.Green}, 0.05, 50.0)
    assert math.isinf(monitor.stop_distance_m(98.5, 4.0, {7: YELLOW}, 0.05, 50.0))
