"""The browser suite: a real gmc server with the demo centre, driven by Playwright through Debian's Chromium.

One server per test session (uvicorn on a free 127.0.0.1 port, its own data directory, `gmc demo` loaded
through the real CLI). The demo load starts in the background as soon as browser tests are collected, and
browser tests run after the rest of the suite, so the load overlaps other work.

Fixtures:
- `gmc_server`: the running server (url, data_dir, database_url).
- `bare_server`, `bare_page_as(role)`: a second server without any reference data, and a page signed in there.
- `page_as(role)`: a fresh browser context signed in as that demo user (the login goes through the real
  form once per role per session; later contexts reuse its cookies) and a page in it.
- `anonymous_page`: a page with no session.
- `axe`: `axe(page)` runs axe-core (vendored) against WCAG 2.2 A/AA and fails on any violation.

Every page the fixtures hand out is watched: a console error, an uncaught page error, an HTTP 5xx response or
a request to anywhere but the gmc server fails the test (`browser_problems.allow(regex)` lets a test expect a
console message). A failing test leaves screenshots of its open pages in tests/browser/artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gmc.demo.service import DEMO_ADMIN_TOTP_SECRET, DEMO_USERS

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
SHARED_DIR = Path(os.environ.get("GMC_SHARED", REPO_ROOT.parent / "shared")).resolve()
PASSWORDS = {u.username: u.password for u in DEMO_USERS}
ARTIFACTS = HERE / "artifacts"
AXE_JS = HERE / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = Path(os.environ.get("GMC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: A desktop window; tests that check small screens set their own viewport.
VIEWPORT = {"width": 1400, "height": 900}
#: How long the demo load and server start may take before the suite gives up (seconds): a ceiling, not a wait.
#: The load takes about a minute on a quiet machine and has taken over 300 s on a shared, loaded one.
START_TIMEOUT = 900
#: How long one page load (navigation) may take (ms).
NAVIGATION_TIMEOUT = 60_000
#: axe-core rule tags checked: WCAG 2.0, 2.1 and 2.2 at levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

_browser_items: list[pytest.Item] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GmcServer:
    """`gmc demo` then `gmc serve` in a throwaway data directory, as a user runs them, in one process group."""

    def __init__(self, *, with_refdata: bool = True) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="gmc-browser-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{self.data_dir / 'gmc.db'}"
        self.log_path = self.data_dir / "server.log"
        gmc = Path(sys.executable).with_name("gmc")
        env = {**os.environ, "GMC_DATA_DIR": str(self.data_dir), "GMC_DATABASE_URL": self.database_url,
               "GMC_REFDATA": str(SHARED_DIR / "refdata" if with_refdata else self.data_dir / "refdata"),
               "GMC_ENVIRONMENT": "test", "GMC_LOG_LEVEL": "WARNING"}
        serve = f'exec "{gmc}" serve --host 127.0.0.1 --port {self.port}'
        prepared = os.environ.get("GMC_BROWSER_DEMO_DIR") if with_refdata else None
        if prepared:  # a data directory where `gmc demo` ran: copied, never changed (quicker reruns)
            shutil.copytree(prepared, self.data_dir, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.log", "*.pid"))
            script = serve
        else:
            script = f'"{gmc}" demo && {serve}'
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(["sh", "-c", script], cwd=self.data_dir, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Waits for /health to answer; fails with the server's log when it exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gmc server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        pytest.fail(f"gmc server not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's output (demo load and uvicorn)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stops the server's process group and removes its data directory."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


_server: GmcServer | None = None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Runs browser tests last and starts preparing their server now, so the demo load overlaps other tests."""
    global _server
    browser = [i for i in items if HERE in Path(str(i.path)).parents]
    if not browser:
        return
    items[:] = [i for i in items if i not in browser] + browser
    if _server is None and not config.option.collectonly:
        _server = GmcServer()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stops the server if the session prepared one."""
    global _server
    if _server is not None:
        _server.stop()
        _server = None


@pytest.fixture(scope="session")
def gmc_server() -> GmcServer:
    """The running gmc server with the demo centre."""
    global _server
    if _server is None:  # e.g. a browser test selected by a path that bypassed collection ordering
        _server = GmcServer()
    _server.wait_ready()
    return _server


@pytest.fixture(scope="session")
def bare_server() -> Iterator[GmcServer]:
    """A second server with no reference data at all (GMC_REFDATA a folder that does not exist), as gmc runs on
    a fresh machine; started on first use."""
    server = GmcServer(with_refdata=False)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Debian's Chromium, headless, through Playwright (Playwright gives it a fresh user-data directory)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make test`, which installs Debian's chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class BrowserProblems:
    """What went wrong in the pages of one test: console errors, page errors, 5xx, off-site requests."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._allowed: list[re.Pattern[str]] = []
        self.pages: list = []

    def allow(self, pattern: str) -> None:
        """Lets problems matching this regex pass (for a test that provokes one on purpose)."""
        self._allowed.append(re.compile(pattern))

    def add(self, text: str) -> None:
        """Records a problem unless a test allowed it."""
        if not any(p.search(text) for p in self._allowed):
            self.found.append(text)

    def watch(self, context, server_url: str) -> None:
        """Attaches the listeners to a browser context (its current and future pages)."""

        def on_page(page) -> None:
            self.pages.append(page)
            page.on("console", lambda m: m.type == "error" and self.add(
                f"console error on {page.url}: {m.text}" + (f" ({m.location['url']})" if m.location.get("url") else "")))
            page.on("pageerror", lambda e: self.add(f"page error on {page.url}: {e}"))

        def on_response(resp) -> None:
            if resp.status >= 500:
                self.add(f"HTTP {resp.status} from {resp.request.method} {resp.url}")

        def only_local(route) -> None:
            url = route.request.url
            if url.startswith(server_url) or url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                self.add(f"request outside the gmc server (blocked): {url}")
                route.abort()

        context.on("page", on_page)
        context.on("response", on_response)
        context.route("**/*", only_local)


@pytest.fixture
def browser_problems(request: pytest.FixtureRequest) -> BrowserProblems:
    """The problems seen in this test's pages (checked after the test by the report hook below)."""
    problems = BrowserProblems()
    request.node.stash[_PROBLEMS] = problems
    return problems


_PROBLEMS = pytest.StashKey[BrowserProblems]()
_role_states: dict[str, dict] = {}


def _new_context(browser, server: GmcServer, problems: BrowserProblems, state: dict | None = None, **options):
    options = {"viewport": VIEWPORT, "reduced_motion": "reduce", "locale": "en-GB", "timezone_id": "Europe/London",
               **options}
    context = browser.new_context(base_url=server.url, storage_state=state, **options)
    context.set_default_timeout(15_000)
    # A page load is one server request doing the page's whole work (a knowledge-base search took 16 s at load 14
    # on the shared machine); element waits keep 15 s.
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT)
    problems.watch(context, server.url)
    return context


_totp_steps: dict[str, int] = {}


def _fresh_totp_code(secret: str, username: str) -> str:
    """The code an authenticator shows now, or for a step gmc has not taken yet (each is good once)."""
    import pyotp

    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = max(now, _totp_steps.get(username, now - 1) + 1)
        if step <= now + 1:
            _totp_steps[username] = step
            return totp.generate_otp(step)
        time.sleep(1)


def sign_in(page, username: str, password: str | None = None) -> None:
    """Signs in through the login form like a person (typing, then Enter; the demo administrator then types the
    code from their authenticator) and waits for the home page."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or PASSWORDS[username])
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url or "/login/second-factor" in url)
    if "/login/second-factor" in page.url:
        page.get_by_label("Code").fill(_fresh_totp_code(DEMO_ADMIN_TOTP_SECRET, username))
        page.get_by_label("Code").press("Enter")
        page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def signer() -> Callable[..., None]:
    """`signer(page, username, password)`: signs a page in through the real forms (for users made in a test)."""
    return sign_in


@pytest.fixture
def page_as(browser, gmc_server: GmcServer, browser_problems: BrowserProblems) -> Iterator[Callable[[str], object]]:
    """`page_as("lab")`: a page signed in as that demo user, in its own browser context.

    Keyword options go to the context (e.g. `viewport=...`, `java_script_enabled=False`). The session is shared
    with other tests of the same role: a test that signs out must sign in on its own `anonymous_page`.
    """
    contexts = []

    def make(role: str, **options):
        state = _role_states.get(role)
        context = _new_context(browser, gmc_server, browser_problems, state, **options)
        contexts.append(context)
        page = context.new_page()
        if state is None:
            sign_in(page, role)
            _role_states[role] = context.storage_state()
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def bare_page_as(browser, bare_server: GmcServer, browser_problems: BrowserProblems) -> Iterator[Callable[[str], object]]:
    """`bare_page_as("scientist")`: a page signed in as that demo user on the server without reference data."""
    contexts = []

    def make(role: str):
        context = _new_context(browser, bare_server, browser_problems)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, role)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def anonymous_page(browser, gmc_server: GmcServer, browser_problems: BrowserProblems) -> Iterator[object]:
    """A page with no session (the login page, public API docs)."""
    context = _new_context(browser, gmc_server, browser_problems)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The vendored axe-core script."""
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def axe(axe_source: str) -> Callable[..., None]:
    """`axe(page)`: fails with a readable list when axe-core finds WCAG 2.2 A/AA violations on the page."""

    def check(page, *, exclude: list[str] | None = None) -> None:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, so a Content-Security-Policy does not block it.
            page.evaluate(axe_source + "\n;undefined")
        context = {"exclude": [[s] for s in exclude]} if exclude else {"exclude": []}
        result = page.evaluate(
            "async ([ctx, tags]) => { const r = await axe.run(ctx.exclude.length ? ctx : document,"
            " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});"
            " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})); }",
            [context, WCAG_TAGS])
        if result:
            lines = [f"{page.url}: {len(result)} accessibility violation(s) (axe-core, WCAG 2.2 A/AA)"]
            for v in result:
                lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
                lines += [f"    {n}" for n in v["nodes"]]
            pytest.fail("\n".join(lines), pytrace=False)

    return check


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Fails a passing browser test that saw problems; saves screenshots of a failing test's pages."""
    outcome = yield
    report = outcome.get_result()
    problems = item.stash.get(_PROBLEMS, None)
    if problems is None or report.when != "call":
        return
    if report.passed and problems.found:
        report.outcome = "failed"
        report.longrepr = "problems in the browser:\n" + "\n".join(f"- {p}" for p in problems.found)
    if report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])
        saved = []
        for n, page in enumerate(problems.pages):
            if page.is_closed():
                continue
            target = ARTIFACTS / f"{stem}-{n}.png"
            try:
                page.screenshot(path=str(target), full_page=True)
                saved.append(str(target.relative_to(REPO_ROOT)))
            except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the real failure
                saved.append(f"(screenshot of page {n} failed: {exc})")
        if saved:
            report.sections.append(("screenshots", "\n".join(saved)))
