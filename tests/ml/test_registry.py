import json
import os
import shutil

import numpy as np
import pytest
import torch

import ml.registry as registry_module
from ml.data import BandStats
from ml.errors import ConfigError, IntegrityError, InvalidVersionId, UnsafePath, VersionNotFound
from ml.models import UNet, VehicleNet
from ml.registry import Registry, parse_version_id, training_fingerprint


def _model() -> UNet:
    torch.manual_seed(0)
    return UNet(4, 2, depth=2, width=8, dropout=0.1).eval()


def _register(reg: Registry, **kwargs):
    return reg.register(_model(), task="segmentation", name="clouds", **kwargs)


def test_a_registered_model_reloads_with_identical_outputs_and_metadata(tmp_path):
    reg, model = Registry(tmp_path), _model()
    x = torch.randn(2, 4, 32, 32)
    stats = BandStats(mean=(1.0, 2.0, 3.0, 4.0), std=(1.0, 1.0, 2.0, 2.0))

    version = reg.register(
        model,
        task="segmentation",
        name="clouds-cnes",
        classes=["not_cloud", "cloud"],
        bands=["B02", "B03", "B04", "B08"],
        sensor="sentinel-2",
        training_fingerprint=training_fingerprint(["chip-1", np.zeros(3)]),
        metrics={"f2": 0.8},
        band_stats=stats.to_dict(),
    )
    loaded, meta = reg.load("clouds-cnes/v1")

    assert version.id == "clouds-cnes/v1" and version.number == 1 and meta == version
    assert not loaded.training
    assert torch.equal(loaded(x), model(x))
    assert meta.classes == ["not_cloud", "cloud"] and meta.metrics == {"f2": 0.8}
    assert BandStats.from_dict(meta.band_stats) == stats
    assert len(meta.weights_sha256) == 64 and meta.created.tzinfo is not None


def test_versions_are_numbered_per_name_and_record_their_parent(tmp_path):
    reg = Registry(tmp_path)
    first = _register(reg)
    second = _register(reg, parent=first.id)
    reg.register(VehicleNet(3, width=8, depth=2), task="detection")

    assert [v.id for v in reg.versions("clouds")] == ["clouds/v1", "clouds/v2"]
    assert second.parent == "clouds/v1" and reg.latest("clouds") == second
    assert [v.id for v in reg.versions(task="detection")] == ["detection/v1"]
    assert reg.names() == ["clouds", "detection"]
    with pytest.raises(VersionNotFound):
        _register(reg, parent="clouds/v9")


def test_a_crash_before_the_rename_leaves_no_visible_version(tmp_path, monkeypatch):
    reg = Registry(tmp_path)

    def crash(path):
        raise OSError("disk full")

    monkeypatch.setattr(registry_module, "_fsync_dir", crash)
    with pytest.raises(OSError, match="disk full"):
        _register(reg)
    monkeypatch.undo()

    assert reg.versions("clouds") == []
    assert os.listdir(tmp_path / "clouds") == []
    with pytest.raises(VersionNotFound):
        reg.get("clouds/v1")


def test_leftovers_of_a_killed_writer_are_invisible_and_do_not_take_a_number(tmp_path):
    reg = Registry(tmp_path)
    partial = tmp_path / "clouds" / ".tmp-deadbeef"
    partial.mkdir(parents=True)
    (partial / "model.safetensors").write_bytes(b"half a file")

    assert reg.versions("clouds") == []
    assert _register(reg).id == "clouds/v1"


def test_a_writer_that_loses_the_race_for_a_number_takes_the_next(tmp_path, monkeypatch):
    reg = Registry(tmp_path)
    _register(reg)
    monkeypatch.setattr(Registry, "_next_number", staticmethod(lambda name_dir: 1))

    version = _register(reg)

    assert version.id == "clouds/v2" and reg.get("clouds/v2") == version
    assert reg.get("clouds/v1").id == "clouds/v1"


def test_tampered_weights_are_refused(tmp_path):
    reg = Registry(tmp_path)
    _register(reg)
    weights = tmp_path / "clouds" / "v1" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))

    with pytest.raises(IntegrityError, match="sha256"):
        reg.load("clouds/v1")


def test_metadata_claiming_another_id_is_refused(tmp_path):
    reg = Registry(tmp_path)
    _register(reg)
    _register(reg)
    shutil.rmtree(tmp_path / "clouds" / "v2")
    shutil.copytree(tmp_path / "clouds" / "v1", tmp_path / "clouds" / "v2")

    with pytest.raises(IntegrityError, match="claims"):
        reg.load("clouds/v2")


@pytest.mark.parametrize(
    "version_id",
    [
        "../outside/v1",
        "clouds/../../v1",
        "/etc/v1",
        "clouds/v1/../v2",
        "Clouds/v1",
        "clouds/v01",
        "clouds/v0",
        "clouds",
        "",
        "clouds/v1\n",
        "clouds/v1/model.safetensors",
        "-clouds/v1",
    ],
)
def test_version_ids_that_could_escape_or_are_malformed_are_rejected(tmp_path, version_id):
    reg = Registry(tmp_path)
    _register(reg)

    with pytest.raises(InvalidVersionId):
        reg.load(version_id)


def test_parse_version_id_splits_valid_ids():
    assert parse_version_id("clouds-cnes/v12") == ("clouds-cnes", 12)


def test_a_symlinked_model_folder_pointing_outside_the_root_is_refused(tmp_path):
    outside = Registry(tmp_path / "outside")
    _register(outside)
    reg = Registry(tmp_path / "root")
    os.symlink(tmp_path / "outside" / "clouds", tmp_path / "root" / "evil")

    with pytest.raises(UnsafePath):
        reg.load("evil/v1")
    assert reg.names() == []


def test_a_symlinked_version_folder_or_weights_file_is_refused(tmp_path):
    reg = Registry(tmp_path / "root")
    _register(reg)
    version_dir = tmp_path / "root" / "clouds" / "v1"
    os.symlink(version_dir, tmp_path / "root" / "clouds" / "v2")
    with pytest.raises(UnsafePath):
        reg.load("clouds/v2")

    real = tmp_path / "elsewhere.safetensors"
    (version_dir / "model.safetensors").rename(real)
    os.symlink(real, version_dir / "model.safetensors")
    with pytest.raises(UnsafePath):
        reg.load("clouds/v1")


def test_invalid_names_and_non_json_metadata_are_refused_at_registration(tmp_path):
    reg = Registry(tmp_path)

    with pytest.raises(InvalidVersionId):
        reg.register(_model(), task="segmentation", name="../x")
    with pytest.raises(ConfigError):
        reg.register(_model(), task="segmentation", metrics={"f2": object()})
    assert reg.versions() == []


def test_the_metadata_file_is_plain_json_next_to_safetensors_weights(tmp_path):
    reg = Registry(tmp_path)
    _register(reg, metrics={"f2": 0.5})

    meta = json.loads((tmp_path / "clouds" / "v1" / "meta.json").read_text())

    assert meta["architecture"]["arch"] == "unet" and meta["metrics"] == {"f2": 0.5}
    assert sorted(os.listdir(tmp_path / "clouds" / "v1")) == ["meta.json", "model.safetensors"]
    assert (tmp_path / "clouds" / "v1" / "model.safetensors").read_bytes()[8:9] == b"{"
