"""The pages: login required, local assets only, the header, login and logout."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

FRONTEND = Path(__file__).resolve().parents[2] / "frontend" / "eolabel"
ASSET_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')
ANY_URL = re.compile(r"https?://[^\s\"'<>)]+")


@pytest.fixture
def page(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    # given nobody logged in / when the map is asked for
    for url in ("/", "/map/"):
        response = client.get(url, follow=True)
        # then they land on the login form, which brings them back to the map afterwards
        assert response.redirect_chain[-1] == ("/accounts/login/?next=/", 302)
        assert response.templates[0].name == "registration/login.html"
        assert 'name="next" value="/"' in response.content.decode()


def test_the_map_page_loads_leaflet_and_our_module_from_local_static_files(page):
    assets = ASSET_URL.findall(page)
    assert "/static/leaflet/leaflet.js" in assets
    assert "/static/leaflet/leaflet.css" in assets
    assert "/static/eolabel/map.css" in assets
    assert '<script type="module" src="/static/eolabel/map.js">' in page
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"


def test_the_map_page_names_no_other_host(page):
    assert ANY_URL.findall(page) == []


def test_every_relative_import_of_the_modules_exists():
    # given the ES modules served without a build step / then each `from "./x.js"` is a file beside them
    for module in FRONTEND.glob("*.js"):
        for target in re.findall(r'from "(\./[^"]+)"', module.read_text()):
            assert (FRONTEND / target).is_file(), f"{module.name} imports missing {target}"


def test_the_browser_code_never_parses_data_as_html_nor_calls_another_host():
    for source in [*FRONTEND.glob("*.js"), *FRONTEND.glob("*.css")]:
        text = source.read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, source.name
        assert ANY_URL.findall(text) == [], source.name


def test_the_header_names_the_user_and_shows_admin_to_staff_only(client, user):
    client.force_login(user)
    plain = client.get("/").content.decode()
    assert ">ana<" in plain and 'href="/api/docs/"' in plain and 'href="/admin/"' not in plain

    user.is_staff = True
    user.save()
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_the_map_page_gives_the_browser_code_the_api_addresses(page):
    assert 'data-sensors-url="/api/sensors/"' in page
    assert 'data-scenes-url="/api/scenes/"' in page


def test_logging_in_through_the_form_opens_the_map(client, user):
    response = client.post("/accounts/login/", {"username": "ana", "password": "pw-ana-123456", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_shows_an_error_on_the_login_page(client, user):
    response = client.post("/accounts/login/", {"username": "ana", "password": "nope", "next": "/"})
    assert response.status_code == 200
    assert 'class="notice notice-error"' in response.content.decode()


def test_logging_out_ends_the_session_on_our_own_page(client, user):
    client.force_login(user)
    response = client.post("/logout/")
    assert response.status_code == 200
    assert "You have been logged out." in response.content.decode()
    assert client.get("/").status_code == 302
