"""Dropout kind: element dropout for new models, channel dropout for configs saved before the option."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from ml.errors import ConfigError
from ml.inference import predict_proba
from ml.models import UNet, VehicleNet, build_model, model_config
from ml.registry import Registry


def _dropout_types(model: nn.Module) -> set[type]:
    return {type(m) for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd)}


@pytest.mark.parametrize(
    "make",
    [lambda **kw: UNet(4, 2, depth=2, width=8, **kw), lambda **kw: VehicleNet(4, 1, depth=2, width=8, **kw)],
)
def test_new_models_use_element_dropout_and_the_config_says_so(make):
    model = make()

    assert _dropout_types(model) == {nn.Dropout}
    assert model_config(model)["dropout_kind"] == "element"
    assert _dropout_types(make(dropout_kind="channel")) == {nn.Dropout2d}


@pytest.mark.parametrize("arch", ["unet", "vehiclenet"])
def test_a_config_saved_before_the_option_rebuilds_with_channel_dropout(arch):
    model = UNet(4, 2, depth=2, width=8) if arch == "unet" else VehicleNet(4, 1, depth=2, width=8)
    old = model_config(model)
    del old["dropout_kind"]

    rebuilt = build_model(old)

    assert _dropout_types(rebuilt) == {nn.Dropout2d}
    assert model_config(rebuilt)["dropout_kind"] == "channel"
    rebuilt.load_state_dict(model.state_dict())  # same parameters: old weights still load


def test_registry_metadata_records_the_dropout_kind_and_reload_keeps_it(tmp_path):
    reg = Registry(tmp_path)
    version = reg.register(
        UNet(4, 2, depth=2, width=8, dropout_kind="channel"), task="segmentation", name="c"
    )

    loaded, meta = reg.load(version.id)
    on_disk = json.loads((tmp_path / "c" / "v1" / "meta.json").read_text())

    assert on_disk["architecture"]["dropout_kind"] == "channel" == meta.architecture["dropout_kind"]
    assert _dropout_types(loaded) == {nn.Dropout2d}


def test_unknown_dropout_kind_raises():
    with pytest.raises(ConfigError):
        UNet(4, 2, depth=2, width=8, dropout_kind="spatial")


def test_element_mc_samples_vary_pixel_by_pixel_where_channel_samples_move_whole_maps():
    # given a 1x1-conv-like situation: a constant image gives the same activation at every pixel
    images = np.ones((1, 4, 16, 16), dtype=np.float32)
    spread = {}
    for kind in ("element", "channel"):
        torch.manual_seed(0)
        model = UNet(4, 2, depth=1, width=8, dropout=0.5, dropout_kind=kind)
        samples = predict_proba(model, images, mc_samples=4, seed=0)[:, 0, 1, 4:12, 4:12]  # interior
        # within one MC sample, how much the interior pixels differ from each other
        spread[kind] = float(np.mean(samples.std(axis=(1, 2))))

    assert spread["element"] > 10 * spread["channel"]
