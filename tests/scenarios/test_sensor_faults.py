"""Sensor faults: what the agent receives under each fault, determinism, ground truth untouched, YAML errors."""
from __future__ import annotations

import itertools
import math

import carla
import numpy as np
import pytest

from driving.errors import InputError
from driving.sim.embedded_world import EmbeddedWorld
from driving.sim.maps import load_map
from driving.sim.weather import get_weather
from leaderboard.autoagents.agent_wrapper import AgentWrapper
from leaderboard.autoagents.autonomous_agent import AutonomousAgent
from planning.gps import geo_reference, gps_to_location, location_to_gps
from scenarios import image_faults
from scenarios.perception_conditions import load_perception_conditions
from scenarios.sensor_fault_injector import SensorFaultInjector
from scenarios.sensor_faults import (
    CalibrationShift,
    CameraBlackout,
    DroppedFrames,
    ExposureShift,
    FrozenFrame,
    GaussianNoise,
    GnssNoiseBurst,
)

H, W, FOV = 32, 64, 90.0
STEP_S = 0.05
RIG = [
    {"type": "sensor.camera.rgb", "id": "rgb", "x": 1.3, "z": 2.3, "width": W, "height": H, "fov": FOV},
    {"type": "sensor.camera.depth", "id": "depth", "x": 1.3, "z": 2.3, "width": W, "height": H, "fov": FOV},
    {"type": "sensor.other.gnss", "id": "gps"},
    {"type": "sensor.speedometer", "id": "speed"},
]


def _frame_data(tick: int) -> dict[str, tuple[int, object]]:
    """A different, non-black world frame per tick, as the world would deliver it (frame = 100 + tick)."""
    rng = np.random.default_rng(tick)
    rgb = rng.integers(1, 256, (H, W, 4), dtype=np.uint8)
    rgb[..., 3] = 255
    depth = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    gps = np.array([42.0 + 1e-5 * tick, 2.0, 0.5])
    frame = 100 + tick
    return {"rgb": (frame, rgb), "depth": (frame, depth), "gps": (frame, gps), "speed": (frame, {"speed": 1.0})}


def _run(faults, seed: int = 0, n_ticks: int = 10, data_fn=_frame_data):
    """(inputs, outputs) per tick of an injector bound to RIG; game time advances as the world's does."""
    injector = SensorFaultInjector(faults, seed)
    injector.bind(RIG)
    inputs, outputs, time_s = [], [], 0.0
    for tick in range(n_ticks):
        data = data_fn(tick)
        inputs.append(data)
        outputs.append(injector.apply(data, time_s))
        time_s += STEP_S
    return inputs, outputs


@pytest.mark.parametrize("timing", [{"start_tick": 2, "duration_ticks": 3}, {"start_s": 0.1, "duration_s": 0.15}])
def test_blackout_is_black_for_n_ticks_then_live_again(timing):
    inputs, outputs = _run([CameraBlackout(**timing)])
    for tick, (data_in, data_out) in enumerate(zip(inputs, outputs)):
        frame, image = data_out["rgb"]
        assert frame == data_in["rgb"][0]
        if 2 <= tick < 5:
            assert not image[..., :3].any() and (image[..., 3] == 255).all()
        else:
            assert image is data_in["rgb"][1]  # live, as the world delivered it
        assert data_out["depth"] is data_in["depth"]  # default targets: RGB cameras only


def test_frozen_frame_repeats_the_frame_number_and_pixels():
    inputs, outputs = _run([FrozenFrame(start_tick=3, duration_ticks=4, sensors=("rgb",))])
    for tick in range(3, 7):
        frame, image = outputs[tick]["rgb"]
        assert frame == inputs[2]["rgb"][0]
        np.testing.assert_array_equal(image, inputs[2]["rgb"][1])
        assert image is not inputs[2]["rgb"][1]
    assert outputs[7]["rgb"][1] is inputs[7]["rgb"][1]
    outputs[3]["rgb"][1][:] = 0  # an agent that edits its input does not edit the held frame
    np.testing.assert_array_equal(outputs[4]["rgb"][1], inputs[2]["rgb"][1])


def _grey(tick: int) -> dict[str, tuple[int, object]]:
    data = _frame_data(tick)
    data["rgb"] = (data["rgb"][0], np.full((H, W, 4), 128, np.uint8))
    return data


def test_noise_has_the_requested_sigma_and_follows_the_seed():
    fault = GaussianNoise(sigma=10.0)
    _, outputs = _run([fault], seed=1, n_ticks=20, data_fn=_grey)
    residual = np.stack([o["rgb"][1][..., :3] for o in outputs]).astype(np.float64) - 128.0
    assert residual.std() == pytest.approx(10.0, rel=0.03)
    assert abs(residual.mean()) < 0.2
    assert all((o["rgb"][1][..., 3] == 128).all() for o in outputs)  # alpha as delivered
    _, same = _run([fault], seed=1, n_ticks=20, data_fn=_grey)
    _, other = _run([fault], seed=2, n_ticks=20, data_fn=_grey)
    assert all(np.array_equal(a["rgb"][1], b["rgb"][1]) for a, b in zip(outputs, same))
    assert not np.array_equal(outputs[0]["rgb"][1], other[0]["rgb"][1])


def test_a_sigma_range_is_sampled_once_per_seed_and_applied():
    fault = GaussianNoise(sigma=(4.0, 12.0))
    sigmas = {seed: SensorFaultInjector([fault], seed).faults[0].sigma for seed in range(6)}
    assert all(4.0 <= s <= 12.0 for s in sigmas.values()) and len(set(sigmas.values())) == 6
    assert SensorFaultInjector([fault], 3).faults[0].sigma == sigmas[3]
    _, outputs = _run([fault], seed=3, n_ticks=20, data_fn=_grey)
    residual = np.stack([o["rgb"][1][..., :3] for o in outputs]).astype(np.float64) - 128.0
    assert residual.std() == pytest.approx(sigmas[3], rel=0.03)


def _ramp(tick: int) -> dict[str, tuple[int, object]]:
    data = _frame_data(tick)
    image = np.zeros((H, W, 4), np.uint8)
    image[..., :3] = (np.arange(H * W) % 256).reshape(H, W, 1)
    image[..., 3] = 255
    data["rgb"] = (data["rgb"][0], image)
    return data


@pytest.mark.parametrize("stops", [1.0, -1.0, 2.5])
def test_exposure_shift_scales_and_clips(stops):
    inputs, outputs = _run([ExposureShift(stops=stops)], n_ticks=1, data_fn=_ramp)
    values = inputs[0]["rgb"][1][..., :3].astype(np.float64)
    expected = np.clip(np.rint(values * 2.0 ** stops), 0, 255)
    np.testing.assert_array_equal(outputs[0]["rgb"][1][..., :3], expected)
    assert (outputs[0]["rgb"][1][..., 3] == 255).all()
    if stops > 0:
        assert (outputs[0]["rgb"][1][..., :3][values >= 128] == 255).all()  # clipped, not wrapped around


def _stripes(tick: int) -> dict[str, tuple[int, object]]:
    data = _frame_data(tick)
    image = np.zeros((H, W, 4), np.uint8)
    image[:, W // 2, :3] = 255  # a vertical line through the principal point
    image[H // 2, :, 0] = 200  # a horizontal one, in blue only
    image[..., 3] = 255
    data["rgb"] = (data["rgb"][0], image)
    return data


def _warped(**angles_deg) -> np.ndarray:
    return _run([CalibrationShift(**angles_deg)], n_ticks=1, data_fn=_stripes)[1][0]["rgb"][1]


def test_calibration_shift_moves_the_image_as_the_rotated_camera_sees_it():
    angle_deg = math.degrees(math.atan(4.0 / image_faults.focal_length_px(W, FOV)))  # 4 px at the centre
    turned_right = _warped(yaw_deg=angle_deg)
    assert np.flatnonzero(turned_right[H // 2, :, 2]).tolist() == [W // 2 - 4]  # content moves left
    assert (turned_right[:, W // 2 - 4, 2] == 255).sum() >= H - 2  # the line stays a line
    assert not turned_right[:, -4:, :3].any()  # the strip the camera newly sees is black
    tilted_up = _warped(pitch_deg=angle_deg)
    assert np.flatnonzero(tilted_up[:, W // 2, 0] == 200).tolist() == [H // 2 + 4]  # content moves down
    assert not tilted_up[:4, :, :3].any()
    rolled = _warped(roll_deg=10.0)  # right side down: the horizon tilts the other way in the image
    row_at = [np.flatnonzero(rolled[:, u, 0] == 200) for u in (5, W - 6)]
    assert row_at[0].tolist() and row_at[1].tolist() and row_at[0][0] > H // 2 > row_at[1][0]
    np.testing.assert_array_equal(_warped(), _stripes(0)["rgb"][1])


def test_dropped_frames_repeat_the_previous_frame():
    inputs, outputs = _run([DroppedFrames(probability=1.0, start_tick=2, duration_ticks=3, sensors=("rgb", "gps"))])
    for tick in range(2, 5):
        for sid in ("rgb", "gps"):
            assert outputs[tick][sid][0] == inputs[1][sid][0]
            np.testing.assert_array_equal(outputs[tick][sid][1], inputs[1][sid][1])
    assert outputs[5]["rgb"][1] is inputs[5]["rgb"][1]

    fault = DroppedFrames(probability=0.3)
    _, outputs = _run([fault], seed=5, n_ticks=300)
    frames = [o["rgb"][0] for o in outputs]
    dropped = [b == a for a, b in itertools.pairwise(frames)]
    assert np.mean(dropped) == pytest.approx(0.3, abs=0.08)
    assert all(b >= a for a, b in itertools.pairwise(frames))  # late data, never from the future
    _, again = _run([fault], seed=5, n_ticks=300)
    assert [o["rgb"][0] for o in again] == frames


def test_gnss_bursts_move_the_fix_by_the_requested_metres_only_during_bursts():
    carla_map = load_map("town_grid")
    lat0, lon0 = geo_reference(carla_map.xodr_text)

    def along_a_road(tick: int) -> dict[str, tuple[int, object]]:
        g = location_to_gps(lat0, lon0, carla.Location(x=10.0 + 0.5 * tick, y=-20.0, z=0.3))
        return {"gps": (tick, np.array([g["lat"], g["lon"], g["z"]]))}

    noise_m = 5.0
    inputs, outputs = _run([GnssNoiseBurst(noise_m=noise_m, burst_ticks=10, period_ticks=40, start_tick=5)],
                           seed=7, n_ticks=805, data_fn=along_a_road)
    errors = []
    for tick, (data_in, data_out) in enumerate(zip(inputs, outputs)):
        true_fix, fix = data_in["gps"][1], data_out["gps"][1]
        in_burst = tick >= 5 and (tick - 5) % 40 < 10
        if not in_burst:
            assert fix is true_fix
            continue
        a, b = gps_to_location(lat0, lon0, tuple(true_fix)), gps_to_location(lat0, lon0, tuple(fix))
        errors.append((b.x - a.x, b.y - a.y))
        assert fix[2] == true_fix[2]
    errors = np.array(errors)
    assert len(errors) == 200
    assert np.sqrt((errors ** 2).mean(axis=0)) == pytest.approx([noise_m, noise_m], rel=0.15)


def test_the_worlds_buffers_are_never_modified():
    faults = [CameraBlackout(start_tick=1, duration_ticks=1), FrozenFrame(start_tick=3, duration_ticks=2),
              GaussianNoise(sigma=20.0), ExposureShift(stops=-1.0), CalibrationShift(roll_deg=3.0),
              DroppedFrames(probability=0.5, sensor_types=("sensor.camera.depth", "sensor.speedometer")),
              GnssNoiseBurst(noise_m=3.0, burst_ticks=2, period_ticks=3)]
    inputs, outputs = _run(faults, n_ticks=8)
    for tick, data in enumerate(inputs):
        pristine = _frame_data(tick)
        for sid in ("rgb", "depth", "gps"):
            np.testing.assert_array_equal(data[sid][1], pristine[sid][1])
        assert data["speed"] == pristine["speed"]
    assert any(not np.array_equal(o["gps"][1], i["gps"][1]) for i, o in zip(inputs, outputs))


def test_a_run_is_reproducible_from_conditions_and_seed(tmp_path):
    path = tmp_path / "faults_all.yaml"
    path.write_text("""
weather: {preset: WetCloudyNoon, sun_altitude_deg: [-5, 10], parameters: {fog_density: [20, 60]}}
sensor_faults:
  - {kind: camera_blackout, start_s: 0.1, duration_ticks: [1, 3], sensors: [rgb]}
  - {kind: frozen_frame, start_tick: 4, duration_s: 0.1}
  - {kind: gaussian_noise, sigma: [2, 8]}
  - {kind: exposure_shift, stops: [-1.5, 1.5]}
  - {kind: calibration_shift, yaw_deg: [-2, 2], pitch_deg: 0.5}
  - {kind: dropped_frames, probability: 0.2, sensor_types: [sensor.camera.depth]}
  - {kind: gnss_noise_burst, noise_m: 4, burst_ticks: 2, period_ticks: 5}
""")
    conditions = load_perception_conditions(path)
    assert [f.KIND for f in conditions.sensor_faults] == [
        "camera_blackout", "frozen_frame", "gaussian_noise", "exposure_shift", "calibration_shift",
        "dropped_frames", "gnss_noise_burst"]
    weather = conditions.weather_for(3)
    assert -5.0 <= weather.sun_altitude_angle <= 10.0 and 20.0 <= weather.fog_density <= 60.0
    assert weather.cloudiness == get_weather("WetCloudyNoon").cloudiness
    assert conditions.weather_for(3).sun_altitude_angle == weather.sun_altitude_angle
    assert conditions.weather_for(4).sun_altitude_angle != weather.sun_altitude_angle

    def run(seed):
        injector = conditions.injector_for(seed)
        injector.bind(RIG)
        return injector, [injector.apply(_frame_data(t), t * STEP_S) for t in range(8)]

    (inj_a, out_a), (inj_b, out_b), (inj_c, _) = run(11), run(11), run(12)
    assert inj_a.faults == inj_b.faults != inj_c.faults
    for a, b in zip(out_a, out_b):
        assert {k: v[0] for k, v in a.items()} == {k: v[0] for k, v in b.items()}
        for sid in ("rgb", "depth", "gps"):
            np.testing.assert_array_equal(a[sid][1], b[sid][1])


def test_weather_by_preset_name_and_no_conditions(tmp_path):
    path = tmp_path / "night_only.yaml"
    path.write_text("weather: HardRainNight\n")
    conditions = load_perception_conditions(path)
    night = get_weather("HardRainNight")
    assert conditions.weather_for(0).sun_altitude_angle == night.sun_altitude_angle
    assert conditions.weather_for(0).precipitation == night.precipitation
    assert conditions.injector_for(0) is None
    path.write_text("")
    assert load_perception_conditions(path).weather_for(0) is None


def _error_of(tmp_path, text: str) -> str:
    path = tmp_path / "bad_conditions.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_perception_conditions(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(("text", "expected"), [
    ("sensor_faults: [{kind: gaussian_noise, sigma: loud}]",
     "sensor_faults[0] (gaussian_noise): sigma: expected a number or a [low, high] pair"),
    ("sensor_faults: [{kind: gaussian_noise, sigma: [1, 2, 3]}]", "sigma: expected a number or a [low, high]"),
    ("sensor_faults: [{kind: camera_blackout}, {kind: gaussian_noise}]",
     "sensor_faults[1] (gaussian_noise): sigma: missing"),
    ("sensor_faults: [{kind: dropped_frames, probability: 1.5}]",
     "(dropped_frames): probability: expected values in [0.0, 1.0], got 1.5"),
    ("sensor_faults: [{kind: camera_blackout, duration_tick: 3}]", "unknown key(s) ['duration_tick']"),
    ("sensor_faults: [{kind: camera_blackout, start_s: 1, start_tick: 3}]", "give one start, not both"),
    ("sensor_faults: [{kind: camera_blackout, sensors: rgb}]", "(camera_blackout).sensors: expected a list"),
    ("sensor_faults: [{kind: gaussian_noise, sigma: 3, sensor_types: [sensor.other.gnss]}]",
     "sensor_types: gaussian_noise cannot apply to ['sensor.other.gnss']"),
    ("sensor_faults: [{kind: lens_flare}]", "sensor_faults[0]: kind: unknown sensor fault kind 'lens_flare'; known:"),
    ("weather: {preset: Sunny}", "weather: preset: unknown weather preset 'Sunny'; known:"),
    ("weather: {parameters: {fog: 3}}", "weather: parameters: unknown weather parameter(s) ['fog']"),
    ("sensor_faults: [{kind: gaussian_noise, sigma: 3}", "not valid YAML at line 1"),
])
def test_bad_yaml_gives_one_line_naming_file_fault_and_field(tmp_path, text, expected):
    assert expected in _error_of(tmp_path, text)


def test_binding_rejects_sensors_the_rig_lacks_or_cannot_degrade():
    with pytest.raises(InputError, match=r"sensor 'rgb_left' is not in the agent's rig; its sensors: \["):
        SensorFaultInjector([CameraBlackout(sensors=("rgb_left",))], 0).bind(RIG)
    with pytest.raises(InputError, match="cannot apply to sensor 'gps' of type sensor.other.gnss"):
        SensorFaultInjector([ExposureShift(stops=1.0, sensors=("gps",))], 0).bind(RIG)


class _RecordingAgent(AutonomousAgent):
    """A sensor agent with a small camera and a GNSS, keeping what it received each step."""

    def setup(self, path_to_conf_file):
        self.received = []

    def sensors(self):
        return [RIG[0], RIG[2]]

    def run_step(self, input_data, timestamp):
        self.received.append((timestamp, input_data))
        return carla.VehicleControl(throttle=0.3)


def test_agent_wrapper_feeds_the_agent_degraded_data_and_leaves_the_world_alone():
    world = EmbeddedWorld()
    try:
        world.load_map("town_grid", seed=0)
        ego = world.spawn_vehicle(world.get_spawn_points()[0])
        agent = _RecordingAgent("")
        injector = SensorFaultInjector([CameraBlackout(start_tick=1, duration_ticks=2)], seed=0)
        wrapper = AgentWrapper(agent, injector=injector)
        wrapper.setup_sensors(world, ego)
        assert injector.targets() == [("camera_blackout", ("rgb",))]
        world_images = []
        for _ in range(4):
            world.tick()
            wrapper.feed(world)
            world.apply_control(ego, wrapper())
            world_images.append(world.read_sensors()["rgb"])
    finally:
        world.close()
    for tick, ((_, data), (world_frame, world_image)) in enumerate(zip(agent.received, world_images)):
        frame, image = data["rgb"]
        assert frame == world_frame and image.shape == (H, W, 4) and world_image[..., :3].any()
        if tick in (1, 2):
            assert not image[..., :3].any()
        else:
            np.testing.assert_array_equal(image, world_image)
        assert data["gps"][0] == world_frame
