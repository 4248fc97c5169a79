"""Models: U-Net (clouds), VehicleNet (CenterNet-style vehicles), sensor transfer, builders."""

from ml.models.builders import build_model, model_config
from ml.models.transfer import SensorAdapted, adapt_to_sensor
from ml.models.unet import UNet
from ml.models.vehicles import Detections, VehicleNet, decode_detections

__all__ = [
    "Detections",
    "SensorAdapted",
    "UNet",
    "VehicleNet",
    "adapt_to_sensor",
    "build_model",
    "decode_detections",
    "model_config",
]
