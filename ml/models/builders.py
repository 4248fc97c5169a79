"""Rebuild models from plain JSON-able configs (what the registry stores next to the weights)."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from ml.errors import ConfigError
from ml.models.blocks import LEGACY_DROPOUT_KIND
from ml.models.transfer import SensorAdapted
from ml.models.unet import UNet
from ml.models.vehicles import VehicleNet

ARCHITECTURES = ("unet", "vehiclenet", "sensor_adapted")


def model_config(model: nn.Module) -> dict[str, Any]:
    """The config that ``build_model`` turns back into an identical (untrained) model."""
    config = getattr(model, "config", None)
    if not isinstance(config, dict) or config.get("arch") not in ARCHITECTURES:
        raise ConfigError(f"{type(model).__name__} was not built by ml.models; cannot describe it")
    return copy.deepcopy(config)


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build a model from ``model_config`` output; unknown or missing keys raise ConfigError."""
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict, got {type(config).__name__}")
    params = dict(config)
    arch = params.pop("arch", None)
    try:
        if arch in ("unet", "vehiclenet"):  # configs saved before the option existed used Dropout2d
            params.setdefault("dropout_kind", LEGACY_DROPOUT_KIND)
        if arch == "unet":
            return UNet(params.pop("in_channels"), params.pop("num_classes"), **params)
        if arch == "vehiclenet":
            return VehicleNet(params.pop("in_channels"), params.pop("num_classes"), **params)
        if arch == "sensor_adapted":
            params.pop("in_channels", None)
            base = build_model(params.pop("base"))
            return SensorAdapted(base, **params)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"invalid {arch} config: {exc}") from exc
    raise ConfigError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")
