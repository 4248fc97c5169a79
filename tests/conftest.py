"""Shared fixtures: an isolated archive root per test, users, and the shared real samples."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    candidates = [os.environ.get("EOLABEL_SHARED_DATA"), REPO.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("../shared/data (the real EO samples) is not beside this checkout")
    return found


@pytest.fixture
def archive_root(settings, tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    settings.ARCHIVE_ROOT = root
    return root


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ana", password="pw-ana-123456")


@pytest.fixture
def api(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def builtin_sensors(django_db_blocker):
    """Transactional tests flush the database, built-in sensors (made by a data migration) included:
    they ask for this fixture to get them back."""
    from eolabel.archive.services import sensors_ensure_builtin

    with django_db_blocker.unblock():
        sensors_ensure_builtin()
