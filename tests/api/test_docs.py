"""The API docs work offline (nothing fetched from another host) and offer the API key before the session."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

URL = re.compile(r"""https?://[^\s"'<>)]+""")


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_page_names_no_other_host_and_its_scripts_and_styles_are_served_here(client, path):
    html = page(client, path)

    assert URL.findall(html) == []
    local = re.findall(r"""(?:src|href)="/static/([^"]+)\"""", html)
    assert any(name.endswith(".js") for name in local)
    for name in local:
        assert finders.find(name), f"/static/{name} is not a static file"


def test_redoc_keeps_the_browser_on_this_host_so_its_bundled_logo_is_not_fetched(client):
    html = page(client, "/api/redoc/")

    # redoc.standalone.js always renders https://cdn.redoc.ly/redoc/logo-mini.svg: only a CSP stops it.
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert policy, "no Content-Security-Policy on the ReDoc page"
    directives = dict(part.strip().split(" ", 1) for part in policy.group(1).split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert "fonts.googleapis.com" not in html


def test_redoc_uses_system_fonts_instead_of_web_fonts(client):
    html = page(client, "/api/redoc/")

    assert "Montserrat" not in html
    assert '"fontFamily": "system-ui' in html


def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_lists_the_bearer_api_key_scheme_before_the_session_and_describes_both(client):
    schemes = schema(client)["components"]["securitySchemes"]

    assert list(schemes) == ["apiKey", "session"]
    assert schemes["apiKey"]["type"] == "http" and schemes["apiKey"]["scheme"] == "bearer"
    assert "API key" in schemes["apiKey"]["description"]
    session = schemes["session"]
    assert (session["type"], session["in"]) == ("apiKey", "cookie")
    assert "logged in" in session["description"]
    assert "API key pasted here" in session["description"] and "401" in session["description"]


def test_every_authenticated_operation_offers_the_api_key_first(client):
    operations = [
        (f"{method.upper()} {path}", operation.get("security"))
        for path, methods in schema(client)["paths"].items()
        for method, operation in methods.items()
    ]
    secured = [(name, security) for name, security in operations if security]

    assert len(secured) > 50
    assert [(name, security) for name, security in secured if security != [{"apiKey": []}, {"session": []}]] == []
