"""Versioned model artefacts on disk: safetensors weights + JSON metadata, atomic and hash-checked.

Layout: ``<root>/<name>/v<N>/{model.safetensors, meta.json}``; a version id is ``"<name>/v<N>"``
with ``name`` matching ``[a-z0-9]([a-z0-9-]*[a-z0-9])?`` (at most 64 characters). A version is
written in a hidden temporary folder and renamed into place, so it appears complete or not at
all. Loading validates the id, refuses symlinks and anything resolving outside the root, checks
the weights' sha256 against the metadata and deserialises with safetensors only (no pickle).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from ml.errors import (
    ConfigError,
    IntegrityError,
    InvalidVersionId,
    RegistryError,
    UnsafePath,
    VersionNotFound,
)
from ml.models.builders import build_model, model_config

NAME_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?"
NAME_RE = re.compile(rf"^{NAME_PATTERN}$")
VERSION_ID_RE = re.compile(rf"^(?P<name>{NAME_PATTERN})/v(?P<number>[1-9][0-9]{{0,8}})$")
VERSION_DIR_RE = re.compile(r"^v([1-9][0-9]{0,8})$")
WEIGHTS_FILE = "model.safetensors"
META_FILE = "meta.json"
META_FORMAT = 1
MAX_META_BYTES = 1_000_000
RENAME_ATTEMPTS = 20


@dataclass(frozen=True)
class ModelVersion:
    """Metadata of one registered model version (what ``meta.json`` holds)."""

    id: str
    name: str
    number: int
    task: str
    architecture: dict[str, Any]
    weights_sha256: str
    created: datetime
    classes: list[str] = field(default_factory=list)
    bands: list[str] = field(default_factory=list)
    sensor: str | None = None
    parent: str | None = None
    training_fingerprint: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    band_stats: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["created"] = self.created.isoformat()
        return json.dumps({"format": META_FORMAT, **data}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelVersion:
        try:
            data = json.loads(text)
            if data.pop("format") != META_FORMAT:
                raise ValueError("unknown metadata format")
            data["created"] = datetime.fromisoformat(data["created"])
            version = cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise IntegrityError(f"invalid model metadata: {exc}") from exc
        if parse_version_id(version.id) != (version.name, version.number):
            raise IntegrityError(f"metadata id {version.id!r} disagrees with name/number")
        return version


def parse_version_id(version_id: str) -> tuple[str, int]:
    """Split ``"<name>/v<N>"`` into (name, N); anything else raises InvalidVersionId."""
    match = VERSION_ID_RE.fullmatch(version_id) if isinstance(version_id, str) else None
    if match is None:
        raise InvalidVersionId(f"invalid model version id {version_id!r}; expected '<name>/v<N>'")
    return match["name"], int(match["number"])


def training_fingerprint(items: Iterable[str | bytes | np.ndarray]) -> str:
    """sha256 over a training set's parts (ids, bytes or arrays, in order), to record what trained a model."""
    digest = hashlib.sha256()
    for item in items:
        if isinstance(item, np.ndarray):
            data = np.ascontiguousarray(item)
            digest.update(f"{data.dtype.str}{data.shape}".encode())
            digest.update(data.tobytes())
        elif isinstance(item, str):
            digest.update(item.encode())
        else:
            digest.update(bytes(item))
        digest.update(b"\x00")
    return digest.hexdigest()


class Registry:
    """Model versions stored under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root)
        path.mkdir(parents=True, exist_ok=True)
        self.root = path.resolve(strict=True)

    def register(
        self,
        model: nn.Module,
        *,
        task: str,
        name: str | None = None,
        classes: Sequence[str] = (),
        bands: Sequence[str] = (),
        sensor: str | None = None,
        parent: str | None = None,
        training_fingerprint: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        band_stats: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store a new version ``<name>/v<N+1>`` (``name`` defaults to ``task``) and return its metadata."""
        name = name or task
        if not NAME_RE.fullmatch(name):
            raise InvalidVersionId(f"invalid model name {name!r}; use lowercase letters, digits and '-'")
        if parent is not None:
            self.get(parent)
        architecture = model_config(model)
        state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
        weights = save_safetensors(state)
        fields = {
            "name": name,
            "task": task,
            "architecture": architecture,
            "weights_sha256": hashlib.sha256(weights).hexdigest(),
            "created": datetime.now(UTC),
            "classes": list(classes),
            "bands": list(bands),
            "sensor": sensor,
            "parent": parent,
            "training_fingerprint": training_fingerprint,
            "metrics": dict(metrics or {}),
            "band_stats": dict(band_stats) if band_stats is not None else None,
            "extra": dict(extra or {}),
        }
        _check_json(fields)
        name_dir = self._name_dir(name, create=True)
        tmp = name_dir / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            _write_file(tmp / WEIGHTS_FILE, weights)
            number = self._next_number(name_dir)
            for _ in range(RENAME_ATTEMPTS):
                version = ModelVersion(id=f"{name}/v{number}", number=number, **fields)
                _write_file(tmp / META_FILE, version.to_json().encode())
                _fsync_dir(tmp)
                try:
                    os.rename(tmp, name_dir / f"v{number}")
                except OSError as exc:  # another writer took this number
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    number = max(number, self._next_number(name_dir) - 1) + 1
                    continue
                _fsync_dir(name_dir)
                return version
            raise RegistryError(f"could not allocate a version number for {name!r}")
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def get(self, version_id: str) -> ModelVersion:
        """Metadata of a version (weights not read)."""
        return self._read_meta(self._version_dir(version_id), version_id)

    def load(self, version_id: str) -> tuple[nn.Module, ModelVersion]:
        """Rebuild the model in eval mode with its verified weights."""
        version_dir = self._version_dir(version_id)
        version = self._read_meta(version_dir, version_id)
        weights = _read_file(version_dir / WEIGHTS_FILE)
        if hashlib.sha256(weights).hexdigest() != version.weights_sha256:
            raise IntegrityError(f"weights of {version_id} do not match their recorded sha256")
        try:
            state = load_safetensors(weights)
            model = build_model(version.architecture)
            model.load_state_dict(state, strict=True)
        except (SafetensorError, ConfigError, RuntimeError) as exc:
            raise IntegrityError(f"weights of {version_id} do not fit their architecture: {exc}") from exc
        return model.eval(), version

    def versions(self, name: str | None = None, *, task: str | None = None) -> list[ModelVersion]:
        """Complete versions, by name then number; filter by model ``name`` and/or ``task``."""
        names = [name] if name is not None else self.names()
        found = []
        for model_name in names:
            name_dir = self._name_dir(model_name, create=False)
            if name_dir is None:
                continue
            for number in sorted(_version_numbers(name_dir)):
                version = self.get(f"{model_name}/v{number}")
                if task is None or version.task == task:
                    found.append(version)
        return found

    def latest(self, name: str) -> ModelVersion | None:
        """The highest-numbered version of a name, or None."""
        versions = self.versions(name)
        return versions[-1] if versions else None

    def names(self) -> list[str]:
        """Model names with a folder in the registry."""
        return sorted(
            entry.name
            for entry in os.scandir(self.root)
            if NAME_RE.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
        )

    def _name_dir(self, name: str, *, create: bool) -> Path | None:
        if not NAME_RE.fullmatch(name):
            raise InvalidVersionId(f"invalid model name {name!r}")
        path = self.root / name
        if create:
            path.mkdir(exist_ok=True)
        elif not os.path.lexists(path):
            return None
        self._check_inside(path, directory=True)
        return path

    def _version_dir(self, version_id: str) -> Path:
        name, number = parse_version_id(version_id)
        name_dir = self._name_dir(name, create=False)
        path = None if name_dir is None else name_dir / f"v{number}"
        if path is None or not os.path.lexists(path):
            raise VersionNotFound(f"no model version {version_id}")
        self._check_inside(path, directory=True)
        return path

    def _check_inside(self, path: Path, *, directory: bool) -> None:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafePath(f"{path} is a symlink; the registry refuses symlinks")
        if directory and not stat.S_ISDIR(mode):
            raise UnsafePath(f"{path} is not a directory")
        if not path.resolve(strict=True).is_relative_to(self.root):
            raise UnsafePath(f"{path} resolves outside the registry root")

    def _read_meta(self, version_dir: Path, version_id: str) -> ModelVersion:
        data = _read_file(version_dir / META_FILE, limit=MAX_META_BYTES)
        try:
            version = ModelVersion.from_json(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise IntegrityError(f"metadata of {version_id} is not UTF-8") from exc
        if version.id != version_id:
            raise IntegrityError(f"metadata in {version_id} claims to be {version.id}")
        return version

    @staticmethod
    def _next_number(name_dir: Path) -> int:
        return max(_version_numbers(name_dir), default=0) + 1


def _version_numbers(name_dir: Path) -> list[int]:
    return [int(m[1]) for entry in os.scandir(name_dir) if (m := VERSION_DIR_RE.fullmatch(entry.name))]


def _read_file(path: Path, *, limit: int | None = None) -> bytes:
    """Read a regular file without following symlinks."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError as exc:
        raise IntegrityError(f"{path.name} is missing from {path.parent.name}") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(f"{path} is a symlink; the registry refuses symlinks") from exc
        raise RegistryError(f"cannot open {path}: {exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnsafePath(f"{path} is not a regular file")
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise IntegrityError(f"{path.name} is larger than {limit} bytes")
    return data


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_json(fields: Mapping[str, Any]) -> None:
    try:
        json.dumps({k: v for k, v in fields.items() if k != "created"})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model metadata must be JSON-serialisable: {exc}") from exc
