import numpy as np
import pytest
import torch

from ml.data import ChipDataset
from ml.errors import ConfigError, ShapeError
from ml.inference import detect, predict_mask
from ml.losses import segmentation_loss
from ml.models import UNet, VehicleNet, build_model, decode_detections, model_config
from ml.models.vehicles import decode_heatmap, encode_targets
from ml.training import train


@pytest.mark.parametrize(
    ("in_channels", "num_classes", "depth", "width", "size"),
    [(13, 5, 2, 8, 32), (4, 2, 3, 8, 64), (3, 1, 1, 4, 16), (6, 5, 4, 8, 48)],
)
def test_unet_maps_chips_to_per_pixel_logits_and_pooled_embedding(
    in_channels, num_classes, depth, width, size
):
    model = UNet(in_channels, num_classes, depth=depth, width=width).eval()
    x = torch.randn(2, in_channels, size, size)

    logits = model(x)
    embedding = model.embed(x)

    assert logits.shape == (2, num_classes, size, size)
    assert embedding.shape == (2, width * 2**depth) == (2, model.embed_dim)
    assert model.size_multiple == 2**depth


def test_unet_refuses_sizes_that_are_not_multiples_of_two_to_the_depth():
    model = UNet(4, 2, depth=3, width=4)

    with pytest.raises(ShapeError, match="multiples of 8"):
        model(torch.randn(1, 4, 36, 32))


@pytest.mark.parametrize(("depth", "stride", "size"), [(3, 2, 64), (3, 4, 32), (2, 1, 16), (2, 4, 32)])
def test_vehiclenet_outputs_heatmap_size_offset_on_the_stride_grid(depth, stride, size):
    model = VehicleNet(4, 2, depth=depth, width=8, stride=stride).eval()

    out = model(torch.randn(3, 4, size, size))

    grid = size // stride
    assert out["heatmap"].shape == (3, 2, grid, grid)
    assert out["size"].shape == out["offset"].shape == (3, 2, grid, grid)
    assert out["stride"] == model.stride == stride
    assert model.embed(torch.randn(3, 4, size, size)).shape == (3, 8 * 2**depth)


@pytest.mark.parametrize(
    "make",
    [
        lambda: UNet(4, 2, dropout=1.0),
        lambda: UNet(0, 2),
        lambda: UNet(4, 2, depth=0),
        lambda: UNet(4, 2, norm="layer"),
        lambda: VehicleNet(4, stride=3),
        lambda: VehicleNet(4, depth=2, stride=8),
    ],
)
def test_invalid_model_configs_raise_config_error(make):
    with pytest.raises(ConfigError):
        make()


@pytest.mark.parametrize(
    "model",
    [UNet(5, 3, depth=2, width=8, dropout=0.2, norm="group"), VehicleNet(4, 2, depth=2, width=8, stride=4)],
)
def test_build_model_rebuilds_an_identical_model_from_its_config(model):
    torch.manual_seed(0)
    rebuilt = build_model(model_config(model))
    rebuilt.load_state_dict(model.state_dict())
    x = torch.randn(1, model.in_channels, 32, 32)

    a, b = model.eval()(x), rebuilt.eval()(x)

    assert type(rebuilt) is type(model) and model_config(rebuilt) == model_config(model)
    if isinstance(a, dict):
        assert all(torch.equal(a[k], b[k]) for k in ("heatmap", "size", "offset"))
    else:
        assert torch.equal(a, b)


def test_build_model_rejects_unknown_architectures_and_missing_keys():
    with pytest.raises(ConfigError):
        build_model({"arch": "resnet"})
    with pytest.raises(ConfigError):
        build_model({"arch": "unet", "in_channels": 4})


def test_unet_overfits_a_two_chip_batch(seg_chips):
    images, masks = seg_chips[0][:2], seg_chips[1][:2]
    torch.manual_seed(0)
    model = UNet(4, 3, depth=2, width=8, dropout=0.0)
    x, y = torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks))
    with torch.no_grad():
        initial = float(segmentation_loss(model(x), y))

    result = train(model, ChipDataset(images, masks), task="segmentation", epochs=120, batch_size=2, lr=1e-2)

    assert result.epoch_losses[-1] < 0.2 * initial
    assert np.array_equal(predict_mask(model, np.stack(images)), np.stack(masks))


def test_decode_recovers_boxes_from_a_synthetic_heatmap_exactly():
    boxes = np.array(
        [[10.0, 12.0, 18.5, 17.0], [40.25, 3.0, 47.0, 9.5], [22.0, 40.0, 31.0, 52.0]], np.float32
    )
    labels = np.array([0, 1, 0])
    targets = encode_targets(boxes, labels, num_classes=2, output_shape=(32, 32), stride=2)
    heat = targets.heatmap.clamp(1e-6, 1 - 1e-6)
    outputs = {
        "heatmap": torch.logit(heat)[None],
        "size": targets.size[None],
        "offset": targets.offset[None],
        "stride": 2,
    }

    (dets,) = decode_detections(outputs, threshold=0.5)

    order = np.argsort(dets.boxes[:, 0])
    expected = np.argsort(boxes[:, 0])
    assert dets.count == 3
    np.testing.assert_allclose(dets.boxes[order], boxes[expected], atol=1e-4)
    assert dets.labels[order].tolist() == labels[expected].tolist()
    np.testing.assert_allclose(dets.scores, 1 - 1e-6, atol=1e-5)


def test_decode_keeps_one_peak_per_neighbourhood_and_applies_threshold_and_top_k():
    heat = torch.zeros(1, 1, 8, 8)
    heat[0, 0, 2, 2], heat[0, 0, 2, 3] = 0.9, 0.8  # neighbours: max-pool NMS keeps 0.9 only
    heat[0, 0, 6, 6], heat[0, 0, 0, 7] = 0.6, 0.2  # 0.2 is below the threshold
    size = torch.full((1, 2, 8, 8), 4.0)
    offset = torch.full((1, 2, 8, 8), 0.5)

    (dets,) = decode_heatmap(heat, size, offset, stride=4, threshold=0.3)
    (top1,) = decode_heatmap(heat, size, offset, stride=4, threshold=0.3, max_detections=1)

    np.testing.assert_allclose(dets.scores, [0.9, 0.6])
    np.testing.assert_allclose(dets.boxes, [[8.0, 8.0, 12.0, 12.0], [24.0, 24.0, 28.0, 28.0]])
    assert top1.count == 1 and top1.scores[0] == pytest.approx(0.9)


def test_encode_targets_puts_unit_peaks_at_centre_cells_and_skips_outside_boxes():
    boxes = np.array([[4.0, 4.0, 12.0, 8.0], [100.0, 100.0, 110.0, 110.0]])

    t = encode_targets(boxes, [0, 0], num_classes=1, output_shape=(16, 16), stride=2)

    assert t.heatmap.max() == 1.0 and t.heatmap[0, 3, 4] == 1.0  # centre (8, 6) -> cell (4, 3)
    assert t.mask.sum() == 1
    assert t.size[:, 3, 4].tolist() == [8.0, 4.0]
    assert t.offset[:, 3, 4].tolist() == [0.0, 0.0]
    assert 0 < t.heatmap[0, 3, 5] < 1


def test_vehiclenet_learns_to_count_rectangles(box_chips):
    images, boxes = box_chips
    torch.manual_seed(0)
    model = VehicleNet(3, 1, depth=2, width=8, dropout=0.0)

    result = train(
        model, ChipDataset(images, boxes=boxes), task="detection", epochs=100, batch_size=4, lr=5e-3
    )
    dets = detect(model, np.stack(images), threshold=0.3)

    assert result.epoch_losses[-1] < 0.2 * result.epoch_losses[0]
    assert [d.count for d in dets] == [3, 3, 3, 3]
    found = dets[0].boxes[np.argsort(dets[0].boxes[:, 0])]
    np.testing.assert_allclose(found, boxes[0][np.argsort(boxes[0][:, 0])], atol=1.5)
