"""A real server and a real browser: uvicorn in a subprocess on a free port, headless Chromium
(Debian's, not Playwright's download) driven through Playwright's async API.

Chromium resolves *.localhost to loopback, so http://acme.localhost:<port>/ is the acme workspace
and http://localhost:<port>/ the apex, exactly as in production with a real base domain.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.dev.demo import DEMO_PASSWORD, DemoData
from backend.kit.i18n import LOCALE_DIR
from tests.fixtures.services import free_port, stop, unavailable

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VENDOR_DIR = REPO / "portals" / "shared" / "static" / "vendor"
STARTUP_SECONDS = 90


# --- Chromium -------------------------------------------------------------------------------------


def _find_chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "/usr/bin/chromium"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _install_chromium() -> str | None:
    """What `make chromium` does: Debian's package, only where we may (root with apt-get)."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)
        except (subprocess.SubprocessError, OSError):
            return None
    return _find_chromium()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium() or _install_chromium()
    if path is None:
        unavailable("no chromium binary and it cannot be installed here (root + apt-get needed; `make chromium`)")
    return path


# --- the server -------------------------------------------------------------------------------------


def _compile_catalogs() -> None:
    """`make setup` compiles every catalog; do the same for any .po newer than its .mo."""
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        result = subprocess.run(
            [str(Path(sys.executable).with_name("pybabel")), "compile", "-i", str(po), "-o", str(mo)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"pybabel compile {po} failed:\n{result.stdout}{result.stderr}"


@dataclass(frozen=True)
class LiveServer:
    port: int
    log: Path

    @property
    def apex(self) -> str:
        return f"http://localhost:{self.port}"

    def workspace(self, slug: str = "acme") -> str:
        return f"http://{slug}.localhost:{self.port}"

    @property
    def data_dir(self) -> Path:
        """The server's MERKATO_DATA_DIR: where its worker keeps the mail it cannot send."""
        return self.log.parent


@contextmanager
def running_server(owner_url: str, data_dir: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[LiveServer]:
    """uvicorn serving backend.app:app_from_environment on the seeded test database, on a free port
    (or PORT in extra_env), with the embedded worker and relay; stopped on leaving."""
    missing = [name for name in ("pico.min.css", "htmx.min.js", "chart.umd.min.js") if not (VENDOR_DIR / name).exists()]
    assert not missing, f"vendor assets missing in {VENDOR_DIR}: {missing} (run `make setup`)"
    _compile_catalogs()
    log = data_dir / "server.log"
    extra = dict(extra_env or {})
    port = int(extra.pop("PORT", None) or free_port())
    env = {
        **os.environ,
        "DATABASE_URL": owner_url,
        "MERKATO_ENV": "test",
        "MERKATO_SECRET_KEY": "browser-test-secret-key-with-enough-entropy-0123456789",
        "MERKATO_DATA_DIR": str(data_dir),
        "MERKATO_BASE_DOMAIN": "localhost",
        # the links its worker e-mails lead back to this server
        "MERKATO_PUBLIC_PORT": str(port),
        **extra,
    }
    env.pop("DATABASE_APP_URL", None)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.app:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        # importing everything takes seconds, and many more on a busy machine (shared CI cores)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer from /healthz within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield LiveServer(port=port, log=log)
    finally:
        stop(process)


# Module scope: the live server runs the embedded worker and relay on the shared test database,
# and must be gone before other modules' tests queue jobs they mean to run themselves.
@pytest.fixture(scope="module")
def live_server(
    owner_url: str, demo: DemoData, tmp_path_factory: pytest.TempPathFactory, chromium_path: str
) -> Iterator[LiveServer]:
    with running_server(owner_url, tmp_path_factory.mktemp("server-data")) as server:
        yield server


# --- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def chromium(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        await browser.close()
        await playwright.stop()


@dataclass
class PageProblems:
    """What went wrong under the page's feet: failed assets, script errors, anything the
    Content-Security-Policy refused (which `new_page` also checks after every test)."""

    bad_responses: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        assert not self.bad_responses, f"assets failed to load: {self.bad_responses}"
        assert not self.page_errors, f"script errors on the page: {self.page_errors}"
        assert not self.csp_violations, f"refused by the Content-Security-Policy: {self.csp_violations}"


# In every document the tests open: reports each securitypolicyviolation event to the test.
CSP_WATCH = Path(__file__).resolve().parent / "csp_watch.js"


@dataclass
class OpenedPage:
    page: Any
    problems: PageProblems


NewPage = Callable[[], Awaitable[OpenedPage]]


@pytest.fixture
async def new_page(chromium: Any, live_server: LiveServer) -> AsyncIterator[NewPage]:
    """new_page() -> a page in a fresh browser context (own cookies), English, 1280 px wide.

    Every Content-Security-Policy violation on any of them fails the test, whether or not it
    calls `problems.assert_none()`: reported by the page itself (CSP_WATCH) and, for documents
    where no script runs (sandboxed ones), by the browser's console."""
    contexts: list[Any] = []
    opened: list[OpenedPage] = []

    async def make() -> OpenedPage:
        context = await chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        problems = PageProblems()
        await context.expose_binding(
            "reportCspViolation", lambda _source, violation: problems.csp_violations.append(str(violation))
        )
        await context.add_init_script(path=CSP_WATCH)
        page = await context.new_page()

        def on_response(response: Any) -> None:
            if "/static/" in response.url and response.status >= 400:
                problems.bad_responses.append(f"{response.status} {response.url}")

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                problems.csp_violations.append(f"console: {message.text}")

        page.on("response", on_response)
        page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
        page.on("console", on_console)
        opened.append(OpenedPage(page, problems))
        return opened[-1]

    yield make
    for context in contexts:
        await context.close()
    refused = [violation for page in opened for violation in page.problems.csp_violations]
    assert not refused, f"refused by the Content-Security-Policy: {refused}"


async def log_in(opened: OpenedPage, base: str, email: str, *, lands: str) -> None:
    """Through the real form with the demo password, as a person would; then wait for the
    landing page and see who is logged in."""
    from playwright.async_api import expect

    page = opened.page
    await page.goto(f"{base}/login")
    form = page.locator("main form[action='/login']")
    await form.get_by_label("E-mail").fill(email)
    await form.get_by_label("Password").fill(DEMO_PASSWORD)
    await form.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lands)
    await expect(page.locator("header .who")).to_have_attribute("title", email)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
