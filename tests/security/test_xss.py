"""Stored XSS: payloads in every text field a user or a file can set (project name and description, class
names, scene names from STAC item ids, sensor titles and band names, area names) come back escaped on every
page; in a real browser no dialog opens and no payload element appears in the DOM."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from eolabel.archive.models import Scene, Sensor
from eolabel.dashboard.models import AreaOfInterest
from eolabel.labelling.models import Project
from tests.labelling.factories import add_member, make_user
from tests.security.conftest import SQUARE, real_scene

PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg onload=alert(2)>")
RAW_MARKERS = ("<script>alert", "<img src=x", "<svg onload")
CHROMIUM = Path("/usr/bin/chromium")
# Elements a payload would have created, or scripts carrying it; logged to the console for the failure message.
INJECTED_JS = """() => {
  const found = [...document.querySelectorAll("img[src=x], [onerror], [onload]")]
    .concat([...document.scripts].filter((s) => s.type !== "application/json" && s.textContent.includes("alert(")));
  found.forEach((e) => console.log("injected: " + e.parentElement.outerHTML.slice(0, 400)));
  return found.length;
}"""


def poison(project: Project, scene: Scene, manager) -> None:
    """Payloads everywhere, written through the API where there is one, else as the file or STAC item would."""
    client = Client()
    client.force_login(manager)
    body = {
        "name": PAYLOADS[0],
        "description": PAYLOADS[1],
        "classes": [
            {"value": 0, "name": PAYLOADS[0], "colour": "#000000"},
            {"value": 1, "name": PAYLOADS[1], "colour": "#ffffff"},
            {"value": 2, "name": PAYLOADS[2], "colour": "#777777"},
        ],
    }
    assert (
        client.patch(f"/api/projects/{project.pk}/", body, content_type="application/json").status_code == 200
    )
    area = {"name": PAYLOADS[1], "geometry": SQUARE}
    assert (
        client.post(
            f"/api/projects/{project.pk}/dashboard/areas", area, content_type="application/json"
        ).status_code
        == 201
    )
    Scene.objects.filter(pk=scene.pk).update(name=PAYLOADS[1], source_name=PAYLOADS[0] + ".tif")
    sensor = Sensor.objects.get(pk=scene.sensor_id)
    sensor.title = PAYLOADS[2]
    sensor.save()


@pytest.fixture
def poisoned(db, archive_root, tmp_path):
    manager = make_user("mona", staff=True)
    scene = real_scene(tmp_path, "scene-x", seed=3)
    from tests.labelling.factories import make_project

    project = make_project(manager=manager, scenes=[scene])
    add_member(project, make_user("anna"), "annotator")
    poison(project, scene, manager)
    return {"project": project, "scene": scene, "manager": manager}


def pages(project: Project) -> list[str]:
    p = project.pk
    return ["/", "/projects/", f"/projects/{p}/label/", "/dashboard/", f"/dashboard/{p}/"]


@pytest.mark.parametrize("username", ["mona", "anna"])
def test_every_page_escapes_the_payloads(poisoned, username):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    escaped_somewhere = False

    for url in pages(poisoned["project"]):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        for marker in RAW_MARKERS:
            assert marker not in html, (url, marker)
        escaped_somewhere |= "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    assert escaped_somewhere  # the payload was shown, as text


def test_admin_pages_escape_the_payloads(poisoned):
    admin = get_user_model().objects.create_superuser("root", password="pw-root-123456")
    client = Client()
    client.force_login(admin)
    p = poisoned["project"].pk

    for url in [
        "/admin/labelling/project/",
        f"/admin/labelling/project/{p}/change/",
        "/admin/archive/scene/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        for marker in RAW_MARKERS:
            assert marker not in response.content.decode(), (url, marker)


def test_the_api_returns_the_payloads_verbatim_as_json(poisoned):
    client = Client()
    client.force_login(poisoned["manager"])

    response = client.get(f"/api/projects/{poisoned['project'].pk}/")

    assert response["Content-Type"] == "application/json"
    assert response.json()["name"] == PAYLOADS[0]  # stored as typed; escaping is the renderer's job


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_dialog_fires_and_no_payload_element_appears_in_a_browser(archive_root, tmp_path, live_server):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (`apt-get install chromium`)")
    manager = make_user("mona", staff=True)
    scene = real_scene(tmp_path, "scene-y", seed=4)
    from tests.labelling.factories import make_project

    project = make_project(manager=manager, scenes=[scene], task_type="vehicle-detection")
    poison(project, scene, manager)
    assert AreaOfInterest.objects.filter(project=project, name=PAYLOADS[1]).exists()
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    injected: dict[str, int] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: m.text.startswith("injected") and print(m.text))
        page.goto(f"{live_server.url}/accounts/login/?next=/projects/")
        page.fill("#id_username", "mona")
        page.fill("#id_password", "pw-mona-123456")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/projects/")
        for url in pages(project):
            page.goto(f"{live_server.url}{url}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)
            injected[url] = page.evaluate(INJECTED_JS)
        shown = page.evaluate("() => document.body.innerText")
        browser.close()

    assert dialogs == []
    assert injected == dict.fromkeys(pages(project), 0)
    assert PAYLOADS[0] in shown  # the last page (the dashboard) shows the name as text
