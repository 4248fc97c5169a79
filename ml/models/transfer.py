"""Transfer a trained model to a new sensor with a 1x1-conv input adapter.

The adapter maps the new sensor's bands onto the bands the model was trained on. It starts as a
band selection: each old (source) band copies, with weight 1, the new (target) band whose centre
wavelength is nearest. Both sensors' inputs are expected to be normalised with their own
``BandStats``, so a copied band arrives with the statistics the model saw in training. Fine-tuning
on a handful of labels then corrects the spectral mismatch.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ml.errors import ConfigError
from ml.sensors import LANDSAT8_OLI_BANDS, LANDSAT_TM_ETM_6_BANDS, SENTINEL2_BANDS, wavelengths_nm

# Centre wavelengths (nm) by band name, file order, from ``ml.sensors`` (the single source of band facts).
SENTINEL2_WAVELENGTHS_NM: dict[str, float] = wavelengths_nm(SENTINEL2_BANDS)
# The six reflective bands shared with Sentinel-2 (blue, green, red, nir, swir16, swir22); one table
# serves Landsat 5 TM and Landsat 7 ETM+.
LANDSAT5_TM_WAVELENGTHS_NM: dict[str, float] = wavelengths_nm(LANDSAT_TM_ETM_6_BANDS)
LANDSAT7_ETM_WAVELENGTHS_NM: dict[str, float] = wavelengths_nm(LANDSAT_TM_ETM_6_BANDS)
LANDSAT8_OLI_WAVELENGTHS_NM: dict[str, float] = wavelengths_nm(LANDSAT8_OLI_BANDS)

_FORWARDED = ("num_classes", "size_multiple", "embed_dim", "stride")


def nearest_band_weights(
    source_wavelengths_nm: Sequence[float], target_wavelengths_nm: Sequence[float]
) -> np.ndarray:
    """(n_source, n_target) 0/1 matrix: row i has a single 1 at the target band nearest to source i.

    Ties go to the first target band in order.
    """
    source = _wavelengths(source_wavelengths_nm, "source_wavelengths_nm")
    target = _wavelengths(target_wavelengths_nm, "target_wavelengths_nm")
    nearest = np.abs(source[:, None] - target[None, :]).argmin(axis=1)
    weights = np.zeros((source.size, target.size), dtype=np.float32)
    weights[np.arange(source.size), nearest] = 1.0
    return weights


class SensorAdapted(nn.Module):
    """A model preceded by a 1x1 conv from the target sensor's bands to the source model's bands."""

    def __init__(
        self,
        base: nn.Module,
        *,
        source_wavelengths_nm: Sequence[float],
        target_wavelengths_nm: Sequence[float],
    ) -> None:
        super().__init__()
        base_config = getattr(base, "config", None)
        if not isinstance(base_config, dict):
            raise ConfigError("the base model has no .config; build it with ml.models")
        n_source, n_target = len(source_wavelengths_nm), len(target_wavelengths_nm)
        if base_config.get("in_channels") != n_source:
            raise ConfigError(
                f"the model takes {base_config.get('in_channels')} bands but "
                f"{n_source} source wavelengths were given"
            )
        weights = nearest_band_weights(source_wavelengths_nm, target_wavelengths_nm)
        self.adapter = nn.Conv2d(n_target, n_source, kernel_size=1, bias=True)
        with torch.no_grad():
            self.adapter.weight.copy_(torch.from_numpy(weights)[:, :, None, None])
            self.adapter.bias.zero_()
        self.base = base
        self.in_channels = n_target
        for name in _FORWARDED:
            if hasattr(base, name):
                setattr(self, name, getattr(base, name))
        self.config: dict[str, Any] = {
            "arch": "sensor_adapted",
            "in_channels": n_target,
            "base": copy.deepcopy(base_config),
            "source_wavelengths_nm": [float(v) for v in source_wavelengths_nm],
            "target_wavelengths_nm": [float(v) for v in target_wavelengths_nm],
        }

    def forward(self, x: torch.Tensor) -> Any:
        return self.base(self.adapter(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The base model's embedding of the adapted input."""
        return self.base.embed(self.adapter(x))


def adapt_to_sensor(
    model: nn.Module,
    *,
    source_wavelengths_nm: Sequence[float],
    target_wavelengths_nm: Sequence[float],
    freeze_base: bool = False,
) -> nn.Module:
    """Put a nearest-wavelength 1x1-conv adapter in front of ``model`` (which is not copied).

    With ``freeze_base`` only the adapter trains (useful with very few labels); by default the
    whole network fine-tunes.
    """
    adapted = SensorAdapted(
        model, source_wavelengths_nm=source_wavelengths_nm, target_wavelengths_nm=target_wavelengths_nm
    )
    if freeze_base:
        for parameter in adapted.base.parameters():
            parameter.requires_grad_(False)
    return adapted


def _wavelengths(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ConfigError(f"{name} must be a non-empty list of positive wavelengths, got {values!r}")
    return array
