import numpy as np
import pytest
import torch
from torch import nn

from ml.errors import ShapeError
from ml.inference import detect, embed, predict_mask, predict_proba, vehicle_heatmap_proba
from ml.models import UNet, VehicleNet
from ml.models.vehicles import encode_targets


def _images(n: int = 3, channels: int = 4, size: int = 32) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, channels, size, size)).astype(np.float32)


def _unet(dropout: float = 0.3) -> UNet:
    torch.manual_seed(0)
    model = UNet(4, 3, depth=2, width=8, dropout=dropout)
    with torch.no_grad():  # non-trivial batch-norm statistics, so eval vs train mode differs
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model


def test_predict_proba_is_the_eval_mode_softmax():
    model, images = _unet(), _images()

    probs = predict_proba(model, images, batch_size=2)

    with torch.no_grad():
        expected = torch.softmax(model.eval()(torch.from_numpy(images)), dim=1).numpy()
    assert probs.shape == (3, 3, 32, 32) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(predict_mask(model, images), expected.argmax(axis=1))


def test_predict_proba_pads_sizes_that_are_not_multiples_and_crops_back():
    probs = predict_proba(_unet(), _images(size=30)[:, :, :, :27])

    assert probs.shape == (3, 3, 30, 27)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_mc_dropout_samples_vary_with_dropout_on_and_batch_norm_in_eval():
    model, images = _unet(dropout=0.3), _images()
    model.train()
    stats_before = model.encoder.stem[1].running_mean.clone()

    samples = predict_proba(model, images, mc_samples=4, seed=1)
    again = predict_proba(model, images, mc_samples=4, seed=1)

    assert samples.shape == (4, 3, 3, 32, 32)
    assert not np.allclose(samples[0], samples[1])
    assert np.array_equal(samples, again)
    assert torch.equal(model.encoder.stem[1].running_mean, stats_before)
    assert model.training and model.encoder.stem[1].training  # the caller's modes are restored


def test_mc_samples_without_dropout_equal_the_deterministic_prediction():
    model, images = _unet(dropout=0.0), _images()

    samples = predict_proba(model, images, mc_samples=3)

    for sample in samples:  # equal only if batch norm used its running statistics
        np.testing.assert_allclose(sample, predict_proba(model, images), atol=1e-6)


def test_embed_returns_pooled_bottleneck_features():
    model, images = _unet(), _images()

    features = embed(model, images, batch_size=2)

    with torch.no_grad():
        expected = model.eval().embed(torch.from_numpy(images)).numpy()
    assert features.shape == (3, 32)
    np.testing.assert_allclose(features, expected, atol=1e-5)


def test_inputs_with_the_wrong_band_count_are_refused():
    with pytest.raises(ShapeError, match="4 bands"):
        predict_proba(_unet(), _images(channels=5))


class _FixedOutputs(nn.Module):
    """Stands in for a trained VehicleNet: returns the encoded targets of known boxes."""

    in_channels, num_classes, stride, size_multiple = 1, 1, 2, 8

    def __init__(self, boxes: np.ndarray, grid: int) -> None:
        super().__init__()
        self.targets = encode_targets(
            boxes, np.zeros(len(boxes)), num_classes=1, output_shape=(grid, grid), stride=2
        )

    def forward(self, x: torch.Tensor) -> dict:
        n = x.shape[0]
        heat = torch.logit(self.targets.heatmap.clamp(1e-6, 1 - 1e-6))
        return {
            "heatmap": heat.expand(n, -1, -1, -1),
            "size": self.targets.size.expand(n, -1, -1, -1),
            "offset": self.targets.offset.expand(n, -1, -1, -1),
            "stride": 2,
        }


def test_detect_returns_boxes_in_input_pixels_and_drops_centres_in_the_padding():
    boxes = np.array([[2.0, 3.0, 8.0, 7.0], [20.0, 20.0, 26.0, 24.0], [29.0, 10.0, 33.0, 14.0]], np.float32)
    model = _FixedOutputs(boxes, grid=16)  # padded 30 -> 32 px input; the last centre (31, 12) is padding

    dets = detect(model, np.zeros((2, 1, 30, 30), np.float32), threshold=0.5)

    assert [d.count for d in dets] == [2, 2]
    found = dets[0].boxes[np.argsort(dets[0].boxes[:, 0])]
    np.testing.assert_allclose(found, boxes[:2], atol=1e-4)


def test_vehicle_heatmap_proba_is_on_the_output_grid():
    torch.manual_seed(0)
    model = VehicleNet(4, 2, depth=2, width=8, stride=2)

    heat = vehicle_heatmap_proba(model, _images(size=30))
    mc = vehicle_heatmap_proba(model, _images(size=32), mc_samples=2, seed=0)

    assert heat.shape == (3, 2, 15, 15) and mc.shape == (2, 3, 2, 16, 16)
    assert heat.min() > 0 and heat.max() < 1
