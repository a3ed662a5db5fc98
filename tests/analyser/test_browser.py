"""The HTML report as a person sees it: headless Chromium loads it, draws it, and runs nothing else.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no port, no
network, no driver package. Screenshots land in artifacts/ (gitignored) for CI to keep.
"""

from __future__ import annotations

import base64
import json
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analyser.report_html import render_html
from tests.analyser.test_report_html import batch_items, one_brand

CHROMIUM = os.environ.get("UPTAKE_TEST_CHROMIUM", "/usr/bin/chromium")
# .ci/run sets this: there a missing browser is a failure, not a skip.
REQUIRED = os.environ.get("UPTAKE_TEST_REQUIRE_CHROMIUM") == "1"
PRESENT = os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# Not a timing assertion: a ceiling so a wedged browser fails the test instead of hanging CI.
DEADLINE_S = 60.0

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not PRESENT and not REQUIRED,
        reason=f"headless Chromium not found at {CHROMIUM}: `apt-get install chromium` "
        "(.ci/run installs it), or set UPTAKE_TEST_CHROMIUM to its path",
    ),
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-pipe",
)


class Browser:
    """A minimal DevTools-protocol client over the pipe Chromium opens on fds 3 and 4."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        self._proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Our pipe ends are non-inheritable (PEP 446); only the dup2 copies on 3 and 4 are
            # passed on, so keeping fds open leaks nothing else to the browser.
            close_fds=False,
            preexec_fn=_fds_to_3_and_4(to_chrome_r, from_chrome_w),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._from_chrome, selectors.EVENT_READ)

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(timeout=remaining):
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command and return its result; events seen meanwhile are kept in order."""
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session is not None:
            command["sessionId"] = session
        os.write(self._to_chrome, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + DEADLINE_S
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, session: str) -> dict[str, Any]:
        """Wait for an event of one page's session (or find it among those already seen)."""
        for event in self.events:
            if event["method"] == method and event.get("sessionId") == session:
                return event
        deadline = time.monotonic() + DEADLINE_S
        while True:
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)
                if message["method"] == method and message.get("sessionId") == session:
                    return message

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        finally:
            try:
                self._proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._selector.close()
            os.close(self._to_chrome)
            os.close(self._from_chrome)


def _fds_to_3_and_4(read_end: int, write_end: int) -> Any:
    """In the child, before exec: Chromium's --remote-debugging-pipe expects exactly fds 3 and 4."""

    def move() -> None:
        # Duplicate first to high numbers so moving one onto 3 or 4 cannot clobber the other.
        r, w = os.dup(read_end), os.dup(write_end)
        os.dup2(r, 3)
        os.dup2(w, 4)  # dup2 copies are inheritable: exactly these two reach Chromium

    return move


class Page:
    """One loaded page, with everything it logged."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send(
            "Runtime.evaluate", self.session, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors/warnings, uncaught exceptions, CSP violations, failed loads."""
        found = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                continue
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif event["method"] == "Runtime.consoleAPICalled" and params["type"] in {
                "error",
                "warning",
                "assert",
            }:
                found.append(f"console.{params['type']}: {params.get('args')}")
            elif event["method"] == "Log.entryAdded" and params["entry"]["level"] in {
                "error",
                "warning",
            }:
                found.append(f"log: {params['entry'].get('text')}")
        return found

    def screenshot(self, path: Path) -> None:
        """The whole page at the emulated width; sizes come from the page, which knows them
        even when the tab is in the background (layout metrics can then report 0)."""
        width, height = self.evaluate(
            "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
        )
        assert width > 0 and height > 0, (width, height)
        shot = self.browser.send(
            "Page.captureScreenshot",
            self.session,
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if not PRESENT:
        pytest.fail(f"UPTAKE_TEST_REQUIRE_CHROMIUM is set but {CHROMIUM} is missing")
    instance = Browser(tmp_path / "chromium-profile")
    try:
        yield instance
    finally:
        instance.close()


def open_page(browser: Browser, html_file: Path) -> Page:
    target = browser.send("Target.createTarget", url="about:blank")["targetId"]
    session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        browser.send(domain, session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=1200,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    browser.send("Page.navigate", session, url=html_file.as_uri())
    browser.wait_for("Page.loadEventFired", session)
    return Page(browser, session)


CHART_STATE = """JSON.stringify(Array.from(document.querySelectorAll('figure.chart')).map(f => {
  const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : null;
  return {name: f.dataset.chart, width: box ? box.width : 0, height: box ? box.height : 0,
          shapes: svg ? svg.querySelectorAll('path, use, rect').length : 0,
          text: svg ? Array.from(svg.querySelectorAll('text'), t => t.textContent).join(' ') : ''};
}))"""


def test_batch_report_loads_cleanly_draws_charts_and_sorts(
    browser: Browser, tmp_path: Path
) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(batch_items()), encoding="utf-8")
    page = open_page(browser, page_file)

    charts = json.loads(page.evaluate(CHART_STATE))
    assert [c["name"] for c in charts][:1] == ["stages"]
    assert len(charts) == 1 + 3 * 4  # the batch chart, then four per brand
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 50, chart
        assert chart["shapes"] > 5, chart
    assert page.evaluate("document.documentElement.dataset.sortableReady") == "yes"

    first_brands = "Array.from(document.querySelectorAll('#comparison-table tbody tr'))" + (
        ".map(r => r.cells[0].textContent).join('|')"
    )
    assert page.evaluate(first_brands) == "Acme|Bolt & Co|Zephyr"
    page.evaluate("document.querySelectorAll('#comparison-table th button')[1].click()")
    assert page.evaluate(first_brands) == "Zephyr|Acme|Bolt & Co"  # stage ascending
    page.evaluate("document.querySelectorAll('#comparison-table th button')[1].click()")
    assert page.evaluate(first_brands) == "Bolt & Co|Acme|Zephyr"

    assert page.problems() == []
    page.screenshot(ARTIFACTS / "report-batch.png")
    assert (ARTIFACTS / "report-batch.png").stat().st_size > 10_000


def test_single_brand_report_screenshot(browser: Browser, tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html([one_brand()]), encoding="utf-8")
    page = open_page(browser, page_file)
    assert page.evaluate("document.querySelectorAll('figure.chart svg').length") == 4
    assert page.evaluate("document.querySelector('li[aria-current=step]').dataset.stage") == "3"
    assert page.problems() == []
    page.screenshot(ARTIFACTS / "report.png")
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


PLACEHOLDERS = {
    "No posts in the window",
    "No public engagement metrics for these posts",
    "No account was found",
}
MARK = "window.__uptake_pwned = 1"
PAYLOADS = (
    f"<script>{MARK}</script>",
    f'"><img src=x onerror="{MARK}">',
    f'<svg onload="{MARK}"></svg>',
)


def test_hostile_names_and_posts_run_nothing(browser: Browser, tmp_path: Path) -> None:
    hostile = " ".join(PAYLOADS)
    items = [one_brand(brand=hostile, text=hostile, name=hostile), *batch_items()[1:]]
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(items), encoding="utf-8")
    page = open_page(browser, page_file)
    assert page.evaluate("typeof window.__uptake_pwned") == "undefined"
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.scripts.length") == 1
    # The payload is on the page as text the reader can see.
    assert PAYLOADS[0] in page.evaluate("document.querySelector('#brand-1 h2').textContent")
    assert page.problems() == []


def test_injected_script_is_blocked_and_reported(browser: Browser, tmp_path: Path) -> None:
    """The check above can fail: a script slipped past escaping is caught by CSP and logged."""
    page_file = tmp_path / "report.html"
    page_file.write_text(
        render_html([one_brand()]).replace("</main>", f"<script>{MARK}</script></main>"),
        encoding="utf-8",
    )
    page = open_page(browser, page_file)
    assert page.evaluate("typeof window.__uptake_pwned") == "undefined"
    assert any("Content Security Policy" in p for p in page.problems()), page.problems()


def test_chromium_is_what_ci_expects() -> None:
    """A wrong binary (a shell stub) would pass nothing above; name the version in the log."""
    version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=True, timeout=DEADLINE_S
    ).stdout
    assert "Chromium" in version or "Chrome" in version
    assert shutil.which(CHROMIUM) is not None


def test_demo_brands_report_renders_cleanly(browser: Browser, tmp_path: Path) -> None:
    """The real pipeline's shapes (simulated demo accounts through the classifier), not ours."""
    demo = pytest.importorskip("analyser.demo", reason="the demo brands are not in this tree")
    from analyser.classifier import assess_many

    accounts = {(s.account.platform, s.account.handle.casefold()): s for s in demo.demo_snapshots()}
    brands = [
        (b.name, [accounts[(h.platform, h.value.casefold())] for h in b.handles])
        for b in demo.demo_brands()
    ]
    reports = assess_many(brands, as_of=demo.DEMO_AS_OF)
    items = [(r, tuple(snaps)) for r, (_, snaps) in zip(reports, brands, strict=True)]
    for name, chosen in (("demo-report", items), ("demo-brand", [items[min(6, len(items) - 1)]])):
        page_file = tmp_path / f"{name}.html"
        page_file.write_text(render_html(chosen), encoding="utf-8")
        page = open_page(browser, page_file)
        charts = json.loads(page.evaluate(CHART_STATE))
        assert len(charts) == 4 * len(chosen) + (1 if len(chosen) > 1 else 0)
        # A brand with no account (stage 0) gets a placeholder that says why; the rest draw.
        empty = [c for c in charts if c["shapes"] <= 5]
        assert all(c["text"] in PLACEHOLDERS for c in empty), empty
        assert len(empty) < len(charts) / 4
        assert all(c["width"] > 200 for c in charts), charts
        assert page.problems() == []
        page.screenshot(ARTIFACTS / f"{name}.png")
