"""Web hardening: production settings pass Django's deploy checks and refuse weak keys; session writes need a
CSRF token; every response says nosniff and carries an enforced CSP; files are attachments."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.test import Client

from tests.labelling.factories import png_b64
from tests.security.conftest import World

REPO = Path(__file__).resolve().parents[2]
MASK = png_b64(np.zeros((32, 32), np.uint8))


def manage(args: list[str], *, key: str | None, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EOLABEL_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE="eolabel.settings.production", EOLABEL_DATA_DIR=str(tmp_path))
    if key is not None:
        env["EOLABEL_SECRET_KEY"] = key
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(
        ["check", "--deploy", "--fail-level", "WARNING"], key=secrets.token_urlsafe(64), tmp_path=tmp_path
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("key", [None, "dev-only-insecure-key-change-me", "abab" * 20])
def test_production_refuses_to_start_with_a_default_or_weak_key(tmp_path, key):
    result = manage(["check"], key=key, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "EOLABEL_SECRET_KEY" in result.stderr


def test_the_weak_key_rules():
    from eolabel.security import secret_key_problem

    assert secret_key_problem(secrets.token_urlsafe(64)) is None
    assert "not set" in secret_key_problem(None)
    assert "development" in secret_key_problem("dev-only-" + secrets.token_urlsafe(60))
    assert "too short" in secret_key_problem(secrets.token_urlsafe(20))


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_session_writes_without_a_csrf_token_are_refused(world: World):
    client = csrf_client(world.manager_b)
    p = world.project_b.pk

    patch = client.patch(f"/api/projects/{p}/", {"description": "csrf"}, content_type="application/json")
    retrain = client.post(f"/api/projects/{p}/training/retrain", content_type="application/json")
    logout = client.post("/logout/")

    assert patch.status_code == 403 and "CSRF" in patch.json()["detail"]
    assert retrain.status_code == 403
    assert logout.status_code == 403
    world.project_b.refresh_from_db()
    assert world.project_b.description != "csrf"
    assert client.get(f"/api/projects/{p}/").status_code == 200  # still signed in


def test_session_writes_with_the_csrf_token_pass(world: World):
    client = csrf_client(world.manager_b)
    client.get("/projects/")  # a page sets the CSRF cookie
    token = client.cookies["csrftoken"].value

    response = client.patch(
        f"/api/projects/{world.project_b.pk}/",
        {"description": "with token"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200


def test_basic_auth_never_prompts_a_browser(world: World):
    response = Client().get("/api/projects/")

    assert response.status_code == 403  # not 401: no WWW-Authenticate, so no remembered Basic credentials
    assert "WWW-Authenticate" not in response


def responses(world: World) -> dict[str, object]:
    client = Client()
    client.force_login(world.manager_b)
    p, s, a = world.project_b.pk, world.scene_b.pk, world.annotation_b.pk
    return {
        "map page": client.get("/"),
        "label page": client.get(f"/projects/{p}/label/"),
        "dashboard page": client.get(f"/dashboard/{p}/"),
        "api docs": client.get("/api/docs/"),
        "login page": Client().get("/accounts/login/"),
        "api json": client.get(f"/api/projects/{p}/"),
        "api error": client.get("/api/projects/999999/"),
        "tile": client.get(f"/tiles/{s}/0/0/0.png"),
        "mask png": client.get(f"/api/annotations/{a}/mask.png"),
        "export": client.get(f"/api/projects/{p}/export?format=geotiff"),
        "csv": client.get(f"/api/projects/{p}/dashboard/vehicle-counts.csv"),
    }


def test_every_response_says_nosniff_and_carries_an_enforced_csp(world: World):
    for name, response in responses(world).items():
        assert response.status_code in (200, 404), name
        assert response["X-Content-Type-Options"] == "nosniff", name
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, name
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, name
        assert "Content-Security-Policy-Report-Only" not in response, name


def test_pages_have_no_inline_script(world: World):
    import re

    for name, response in responses(world).items():
        if not response["Content-Type"].startswith("text/html"):
            continue
        html = response.content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (name, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), name


def test_files_are_attachments_with_their_own_type(world: World):
    got = responses(world)

    assert got["export"]["Content-Type"] == "application/zip"
    assert got["export"]["Content-Disposition"].startswith("attachment;")
    assert got["csv"]["Content-Type"].startswith("text/csv")
    assert got["csv"]["Content-Disposition"].startswith("attachment;")
    assert got["mask png"]["Content-Type"] == "image/png"
    assert got["tile"]["Content-Type"] == "image/png"


def test_an_uploaded_mask_is_served_as_the_png_we_encoded_not_the_bytes_sent(world: World):
    """A polyglot (a valid PNG with HTML after IEND) goes in; what comes out is our own re-encoded PNG."""
    client = Client()
    client.force_login(world.annotator_b)
    import base64

    polyglot = base64.b64decode(MASK) + b"<html><script>alert(1)</script></html>"
    body = {"version": 1, "mask_png": base64.b64encode(polyglot).decode()}

    edited = client.patch(f"/api/annotations/{world.annotation_b.pk}", body, content_type="application/json")
    served = client.get(f"/api/annotations/{world.annotation_b.pk}/mask.png")

    assert edited.status_code == 200
    assert b"<script" not in served.content and served["Content-Type"] == "image/png"
