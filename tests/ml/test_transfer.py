import numpy as np
import pytest
import torch

from ml.data import BandStats, ChipDataset, read_chips, read_mask_chips
from ml.errors import ConfigError
from ml.inference import detect, predict_mask
from ml.losses import segmentation_loss
from ml.models import UNet, VehicleNet, adapt_to_sensor, build_model, model_config
from ml.models.transfer import (
    LANDSAT5_TM_WAVELENGTHS_NM,
    SENTINEL2_WAVELENGTHS_NM,
    nearest_band_weights,
)
from ml.registry import Registry
from ml.training import train

S2 = list(SENTINEL2_WAVELENGTHS_NM.values())
L5 = list(LANDSAT5_TM_WAVELENGTHS_NM.values())


def _s2_unet(dropout: float = 0.0) -> UNet:
    torch.manual_seed(0)
    return UNet(13, 2, depth=2, width=8, dropout=dropout)


def test_each_sentinel2_band_takes_the_nearest_landsat_band():
    weights = nearest_band_weights(S2, L5)

    chosen = [list(LANDSAT5_TM_WAVELENGTHS_NM)[j] for j in weights.argmax(axis=1)]
    assert chosen == [
        "blue", "blue", "green", "red", "red", "red", "nir", "nir", "nir", "nir", "swir16", "swir16", "swir22",
    ]  # fmt: skip
    assert np.all(weights.sum(axis=1) == 1)


def test_the_adapted_model_takes_the_new_bands_and_keeps_output_shapes():
    adapted = adapt_to_sensor(_s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=L5).eval()
    x = torch.randn(2, 6, 32, 32)

    assert adapted(x).shape == (2, 2, 32, 32)
    assert adapted.embed(x).shape == (2, 32)
    assert adapted.adapter.weight.shape == (13, 6, 1, 1)


def test_the_initial_adapter_copies_the_nearest_band_exactly():
    base = _s2_unet().eval()
    adapted = adapt_to_sensor(base, source_wavelengths_nm=S2, target_wavelengths_nm=L5).eval()
    x = torch.randn(2, 6, 32, 32)
    nearest = torch.tensor([0, 0, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5])

    with torch.no_grad():
        adapted_input = adapted.adapter(x)
        assert torch.equal(adapted_input, x[:, nearest])
        assert torch.allclose(adapted(x), base(x[:, nearest]), atol=1e-6)


def test_one_fine_tuning_step_reduces_the_loss():
    adapted = adapt_to_sensor(_s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=L5)
    torch.manual_seed(1)
    x = torch.randn(2, 6, 32, 32)
    y = (x[:, 3] > x[:, 2]).long()  # an NDVI-like rule the source model never saw
    optimizer = torch.optim.SGD(adapted.parameters(), lr=0.05)

    before = segmentation_loss(adapted(x), y)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    after = segmentation_loss(adapted(x), y)

    assert after.item() < before.item()


def test_freeze_base_leaves_only_the_adapter_trainable():
    adapted = adapt_to_sensor(
        _s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=L5, freeze_base=True
    )

    trainable = [name for name, p in adapted.named_parameters() if p.requires_grad]

    assert trainable == ["adapter.weight", "adapter.bias"]


def test_a_mismatched_wavelength_list_is_refused():
    with pytest.raises(ConfigError, match="13 bands"):
        adapt_to_sensor(_s2_unet(), source_wavelengths_nm=L5, target_wavelengths_nm=L5)
    with pytest.raises(ConfigError):
        adapt_to_sensor(_s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=[])


def test_an_adapted_model_round_trips_through_config_and_registry(tmp_path):
    adapted = adapt_to_sensor(_s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=L5).eval()
    x = torch.randn(1, 6, 32, 32)

    rebuilt = build_model(model_config(adapted))
    version = Registry(tmp_path).register(
        adapted, task="segmentation", name="clouds-landsat", sensor="landsat-5"
    )
    loaded, _ = Registry(tmp_path).load(version.id)

    assert model_config(rebuilt) == model_config(adapted) and rebuilt.in_channels == 6
    assert torch.equal(loaded(x), adapted(x))


def test_an_adapted_vehicle_model_still_detects_on_its_stride():
    torch.manual_seed(0)
    base = VehicleNet(4, depth=2, width=8, stride=2)
    adapted = adapt_to_sensor(
        base, source_wavelengths_nm=[490, 560, 665, 842], target_wavelengths_nm=[480, 550, 650]
    )

    dets = detect(adapted, np.zeros((2, 3, 32, 32), np.float32), threshold=0.0, max_detections=5)

    assert adapted.stride == 2 and [d.count for d in dets] == [5, 5]
    assert all(d.boxes[:, 0].max() < 32 for d in dets)


def test_fine_tuning_on_four_real_landsat_chips_segments_held_out_chips(shared_data):
    folder = shared_data / "landsat-ukis"
    chips, _ = read_chips(folder / "landsat5_toa_6band.tif", size=64)
    masks, _ = read_mask_chips(folder / "landsat5_mask.tif", size=64)
    cloud = (masks == 4).astype(np.int64)  # the reference's class 4 is cloud
    stats = BandStats.from_images(chips[:4])
    adapted = adapt_to_sensor(_s2_unet(), source_wavelengths_nm=S2, target_wavelengths_nm=L5)
    ds = ChipDataset(list(chips[:4]), list(cloud[:4]), stats=stats, augment=True)

    result = train(adapted, ds, task="segmentation", epochs=60, batch_size=4, lr=1e-2)
    held_out = predict_mask(adapted, stats.normalize(chips[32:40]))

    majority = 1 - cloud[32:40].mean()
    accuracy = (held_out == cloud[32:40]).mean()
    assert result.epoch_losses[-1] < 0.3 * result.epoch_losses[0]
    assert accuracy > 0.9 and accuracy > majority + 0.1


def test_transfer_wavelengths_come_from_the_sensor_tables():
    from ml.models import transfer
    from ml.sensors import LANDSAT8_OLI_BANDS, LANDSAT8_RGBN_BANDS, LANDSAT_TM_ETM_6_BANDS, SENTINEL2_BANDS

    assert transfer.SENTINEL2_WAVELENGTHS_NM == {b["name"]: b["wavelength_nm"] for b in SENTINEL2_BANDS}
    assert list(transfer.LANDSAT5_TM_WAVELENGTHS_NM.values()) == [
        b["wavelength_nm"] for b in LANDSAT_TM_ETM_6_BANDS
    ]
    assert list(transfer.LANDSAT8_OLI_WAVELENGTHS_NM) == [b["name"] for b in LANDSAT8_OLI_BANDS]
    # the 38-Cloud band order the app relies on is a view of the same OLI facts
    assert [(b["name"], b["wavelength_nm"]) for b in LANDSAT8_RGBN_BANDS] == [
        ("red", 654.6), ("green", 561.4), ("blue", 482.0), ("nir", 864.7),
    ]  # fmt: skip
