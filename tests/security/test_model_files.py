"""Model files: weights come only from the registry root, as safetensors, hash-checked. A pickle payload placed
in the registry folder (as .pt, .pkl, or in place of the weights, even with a matching sha256) never runs
through any loading path: the canary file it would write never appears."""

import ast
import hashlib
import json
import pickle
from pathlib import Path

import pytest
import torch

from ml.errors import MLError
from ml.models import UNet
from ml.registry import Registry

REPO = Path(__file__).resolve().parents[2]


class Canary:
    """Unpickling this opens (creates) the canary file: proof that pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def payload(canary: Path) -> bytes:
    data = pickle.dumps({"state_dict": Canary(canary)})
    assert not canary.exists()
    return data


def registered(root: Path) -> Registry:
    torch.manual_seed(0)
    registry = Registry(root)
    registry.register(UNet(3, 2, depth=2, width=8), task="segmentation", name="project-1")
    return registry


def every_loading_path(registry: Registry) -> list[str | None]:
    """Call each way the app reads the registry: the error of each call (a registry error) or None."""
    errors: list[str | None] = []
    calls = [
        lambda: registry.load("project-1/v1"),
        lambda: registry.get("project-1/v1"),
        lambda: registry.versions(),
        lambda: registry.latest("project-1"),
        lambda: registry.names(),
        lambda: registry.load("project-1/v2"),
    ]
    for call in calls:
        try:
            call()
            errors.append(None)
        except MLError as exc:
            errors.append(type(exc).__name__)
    return errors


def test_pickles_beside_the_weights_are_never_opened(tmp_path):
    registry = registered(tmp_path / "models")
    canary = tmp_path / "canary"
    version = tmp_path / "models" / "project-1" / "v1"
    for name in ("model.pt", "model.pkl", "model.pth", "pytorch_model.bin", "checkpoint.ckpt"):
        (version / name).write_bytes(payload(canary))
        torch.save({"x": Canary(canary)}, version.parent / f"{name}.torch")
    (tmp_path / "models" / "project-1" / "v2").mkdir()
    (tmp_path / "models" / "project-1" / "v2" / "model.pt").write_bytes(payload(canary))

    errors = every_loading_path(registry)

    assert not canary.exists()
    # v1 still loads from its safetensors; v2 (a pickle, no meta.json) is refused wherever it is listed
    assert errors == [None, None, "IntegrityError", "IntegrityError", None, "IntegrityError"]


def test_a_pickle_in_place_of_the_weights_never_runs_even_with_a_matching_hash(tmp_path):
    registry = registered(tmp_path / "models")
    canary = tmp_path / "canary"
    version = tmp_path / "models" / "project-1" / "v1"
    evil = payload(canary)
    (version / "model.safetensors").write_bytes(evil)

    mismatched = every_loading_path(registry)
    meta = json.loads((version / "meta.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(evil).hexdigest()  # an attacker who can write both files
    (version / "meta.json").write_text(json.dumps(meta))
    matched = every_loading_path(registry)

    assert not canary.exists()
    assert mismatched[0] == "IntegrityError" and matched[0] == "IntegrityError"


def test_the_app_loads_models_only_through_the_registry(tmp_path, settings, db):
    from eolabel.training.services.registry import project_registry

    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    registered(tmp_path / "models")
    canary = tmp_path / "canary"
    (tmp_path / "models" / "project-1" / "v1" / "model.safetensors").write_bytes(payload(canary))

    with pytest.raises(MLError):
        project_registry().load("project-1/v1")
    with pytest.raises(MLError):
        project_registry().load("../../../etc/v1")

    assert not canary.exists()
    assert project_registry().root == (tmp_path / "models").resolve()


def test_a_training_checkpoint_that_is_a_pickle_never_runs(tmp_path):
    from ml.errors import CheckpointError
    from ml.training import _load_checkpoint

    canary = tmp_path / "canary"
    path = tmp_path / "run.safetensors"
    path.write_bytes(payload(canary))
    model = UNet(3, 2, depth=2, width=8)

    with pytest.raises(CheckpointError):
        _load_checkpoint(path, model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), run={})

    assert not canary.exists()


def unsafe_deserialisers(root: Path) -> list[str]:
    """Calls that can run pickle: pickle/dill/joblib/cloudpickle loads, torch.load without weights_only=True,
    numpy load with allow_pickle=True, yaml.load without a safe loader."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            text = ast.unparse(node.func)
            kwargs = {k.arg: ast.unparse(k.value) for k in node.keywords if k.arg}
            where = f"{path.relative_to(root.parent)}:{node.lineno} {text}"
            if text.split(".")[0] in ("pickle", "dill", "joblib", "cloudpickle", "marshal", "shelve") and (
                "load" in text or "open" in text
            ):
                found.append(where)
            elif text == "torch.load" and kwargs.get("weights_only") != "True":
                found.append(where)
            elif text in ("np.load", "numpy.load") and kwargs.get("allow_pickle") not in (None, "False"):
                found.append(where)
            elif text == "yaml.load" and "Safe" not in kwargs.get("Loader", ""):
                found.append(where)
    return found


@pytest.mark.parametrize("package", ["eolabel", "ml", "fixtures"])
def test_no_code_path_deserialises_with_pickle(package):
    assert unsafe_deserialisers(REPO / package) == []


def test_the_deserialiser_scan_can_fail(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(
        "import pickle, torch, numpy as np\n"
        "a = pickle.loads(b'')\nb = torch.load('x')\nc = np.load('y', allow_pickle=True)\n"
        "d = torch.load('z', weights_only=True)\n"
    )

    assert len(unsafe_deserialisers(tmp_path / "pkg")) == 3
