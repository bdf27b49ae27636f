"""Non-camera sensors of the embedded simulator, one module per CARLA sensor type.

Importing this package registers every model in `REGISTRY` (blueprint id -> class).
"""
from driving.sim.sensor_models.base import REGISTRY, FrameInputs, SensorContext, SensorModel
from driving.sim.sensor_models.gnss import GnssModel
from driving.sim.sensor_models.imu import ImuModel
from driving.sim.sensor_models.lidar import LidarModel
from driving.sim.sensor_models.opendrive import OpenDriveModel
from driving.sim.sensor_models.radar import RadarModel
from driving.sim.sensor_models.speedometer import SpeedometerModel

__all__ = ["REGISTRY", "FrameInputs", "GnssModel", "ImuModel", "LidarModel", "OpenDriveModel", "RadarModel",
           "SensorContext", "SensorModel", "SpeedometerModel"]
