"""Real-browser end-to-end tests of the admin: Playwright (sync API) driving Debian's Chromium against
pytest-django's live server.

One browser for the whole session, a fresh context (cookies, storage) per test. Every page a journey visits
is written to var/screenshots/<journey>-<step>.png (see `Journey.shot`); a failing test leaves
var/screenshots/<test>-FAILED.png with the page as it was.

Chromium is the system's (/usr/bin/chromium, or PLEXICA_CHROMIUM); Playwright never downloads a browser. Without
it the tests skip on a developer machine and fail where PLEXICA_REQUIRE_BACKENDS=1 (CI).
"""

import contextlib
import os
import re
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls from a thread with a
# running loop; the test's ORM calls are synchronous, so the check does not apply (pytest-django's advice).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = os.environ.get("PLEXICA_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 30_000  # a loaded machine (CI runs two suites' worth of work) serves pages slowly
PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: real-browser end-to-end test (Playwright + Chromium, live server)")
    config.addinivalue_line("markers", "journey(name): the journey's short name, the screenshots' prefix")


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        message = (f"needs Chromium at {CHROMIUM} (apt-get install chromium, or set PLEXICA_CHROMIUM) "
                   "for the browser tests")
        if os.environ.get("PLEXICA_REQUIRE_BACKENDS") == "1":
            pytest.fail(message + ", which PLEXICA_REQUIRE_BACKENDS=1 demands")
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    for old in SCREENSHOTS.glob("*.png"):  # the folder shows this run's pages only
        old.unlink()
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def live(live_server, settings):
    # The test settings run with DEBUG off, so cookies would be Secure; the live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Users made after this log in without PBKDF2's deliberate second of work (the journeys log in a lot).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return live_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        page = getattr(item, "_e2e_page", None)
        if page is not None:
            # A failed screenshot must not hide the test's own failure.
            with contextlib.suppress(Exception):
                report.sections.append(("page at the failure", f"{page.url}\n{page.locator('body').inner_text()[:3000]}"))
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / f"{item.name}-FAILED.png"), full_page=True)


class Journey:
    """A browser page on the live server, with the journey's name for its screenshots."""

    def __init__(self, page, base_url, name):
        self.page = page
        self.base_url = base_url
        self.name = name
        self.shots = []

    def url(self, path):
        return self.base_url + path

    def goto(self, path):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    def shot(self, step):
        """Screenshot of the whole page as var/screenshots/<journey>-<step>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path.name)
        return path

    def login(self, username, password=PASSWORD):
        page = self.page
        # From /admin/, as a person starts: the login page then carries ?next=/admin/.
        self.goto("/admin/")
        page.get_by_label(re.compile("username", re.IGNORECASE)).fill(username)
        page.get_by_label(re.compile("password", re.IGNORECASE)).fill(password)
        page.locator("form#login-form [type=submit], form [type=submit]").first.click()
        page.wait_for_load_state()
        assert "/admin/login/" not in page.url, f"still on the login page: {self.messages()}"

    def messages(self):
        """The texts of the admin messages shown on the page (success, warning, error)."""
        return [text.strip() for text in self.page.locator(".messagelist li, [role=alert], .errornote, .errorlist li")
                .all_inner_texts()]

    def submit(self, name=re.compile(r"^(save|create|add version|compare)$", re.IGNORECASE)):
        """Click the form's submit button of that accessible name and wait for the next page."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=name).first.click()


@pytest.fixture
def journey(request, browser, live):
    """journey: a new browser context (1400x900) on the live server; screenshots named after the test."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live.url)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    request.node._e2e_page = page
    marker = request.node.get_closest_marker("journey")
    name = marker.args[0] if marker else request.node.name.removeprefix("test_").replace("_", "-")
    try:
        yield Journey(page, live.url, name)
        assert not errors, f"JavaScript errors on the pages: {errors}"
    finally:
        context.close()
