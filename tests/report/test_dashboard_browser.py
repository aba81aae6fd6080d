"""End-to-end test of the dashboard in a real browser.

Starts ``agglomeration dashboard SCENARIO --port N`` (a free localhost port) as a subprocess, opens it
in Debian's Chromium driven by Python Playwright (``executable_path=/usr/bin/chromium``; no browser is
ever downloaded), moves a lever slider, steps the model, checks that the map and the live plots changed
and that bad input in a field shows a message; saves screenshots to ``tests/artifacts/`` (and to
``docs/img/dashboard.png`` when ``AGGLOMERATION_UPDATE_DOCS_IMG=1``).

Skips with a reason when chromium, playwright or the viz extra are missing, unless
``AGGLOMERATION_REQUIRE_BROWSER=1`` (set by ``.ci/run``), where a missing piece is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("AGGLOMERATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRED = os.environ.get("AGGLOMERATION_REQUIRE_BROWSER") == "1"


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return f"no chromium at {CHROMIUM} (sudo bash .ci/install-browser.sh)"
    if importlib.util.find_spec("playwright") is None:
        return "python playwright is not installed (pip install playwright; never `playwright install`)"
    for mod in ("solara", "ipyvuetify"):
        if importlib.util.find_spec(mod) is None:
            return f"the viz extra is not installed ({mod} missing): pip install -e '.[viz]'"
    return None


def _require_or_skip() -> None:
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"AGGLOMERATION_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"dashboard exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"dashboard did not answer at {url} within {timeout} s")


@pytest.fixture
def dashboard_url(tmp_path):
    _require_or_skip()
    scenario = tmp_path / "small.toml"
    # a short burn-in (the page works on any economy), the baseline's for the docs' screenshot
    burn_in = "" if os.environ.get("AGGLOMERATION_UPDATE_DOCS_IMG") == "1" else "burn_in = 10\n"
    scenario.write_text(
        f'extends = "{(ROOT / "scenarios" / "baseline.toml").as_posix()}"\n'
        f'name = "baseline_400_firms"\n{burn_in}[firms]\ninitial_count = 400\n'
    )
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "agglomeration.cli",
        "dashboard",
        str(scenario),
        "--port",
        str(port),
    ]
    cmd += ["--seed", "7"]
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the server child is stopped with it
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_http(url, proc)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


@pytest.mark.slow
def test_dashboard_in_a_real_browser(dashboard_url):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1050})
            page.goto(dashboard_url)
            step_text = page.locator(".agg-step")
            expect(step_text).to_have_text("step 0", timeout=90_000)
            map_img = page.locator(".agg-map img")
            plot_img = page.locator(".agg-series img")
            expect(map_img).to_be_visible(timeout=30_000)
            expect(plot_img).to_be_visible(timeout=30_000)
            map0, plot0 = map_img.screenshot(), plot_img.screenshot()

            # move a slider (keyboard on the thumb): delegation of the connected areas to 1
            slider = page.locator(
                ".agg-lever", has_text="Delegation level, connected innovation areas"
            )
            # the label sits above the slider, which keeps a usable width at 1500 px
            track = slider.locator(".v-slider")
            expect(track).to_be_visible(timeout=30_000)
            box = track.bounding_box()
            assert box is not None and box["width"] >= 100, f"slider too narrow: {box}"
            slider.locator(".v-slider__thumb-container").focus()
            page.keyboard.press("End")
            expect(page.get_by_text("policy.delegation.connected=1")).to_be_visible(timeout=60_000)
            expect(step_text).to_have_text("step 0")

            # step the model three times (steps per click = 3, applied on Enter)
            steps_field = page.get_by_label("steps per click")
            steps_field.fill("3")
            steps_field.press("Enter")
            page.get_by_role("button", name="Step").click()
            expect(step_text).to_have_text("step 3", timeout=60_000)
            page.wait_for_timeout(1500)  # let the new images load
            map1, plot1 = map_img.screenshot(), plot_img.screenshot()
            assert map1 != map0, "the map did not change after stepping"
            assert plot1 != plot0, "the live plots did not change after stepping"
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            if os.environ.get("AGGLOMERATION_UPDATE_DOCS_IMG") == "1":
                (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"))

            # bad input gives a visible message and the page keeps working
            field = page.get_by_label("per-region delegation, e.g. WZ=0.8, LJ=0.9")
            field.fill("WZ=2")
            field.press("Enter")
            error = page.locator(".agg-error")
            expect(error).to_be_visible(timeout=30_000)
            expect(error).to_contain_text("policy.delegation.WZ")
            expect(step_text).to_have_text("step 3")  # the previous model is kept
            page.screenshot(path=str(ARTIFACTS / "dashboard_error.png"), full_page=True)
            # a valid value clears the message and rebuilds the model with it (step 0)
            field.fill("WZ=0.9")
            field.press("Enter")
            expect(page.get_by_text("policy.delegation.WZ=0.9")).to_be_visible(timeout=60_000)
            expect(error).to_have_count(0)
            expect(step_text).to_have_text("step 0")
            page.get_by_role("button", name="Step").click()
            expect(step_text).to_have_text("step 3", timeout=60_000)
            page.get_by_role("button", name="Reset").click()
            expect(step_text).to_have_text("step 0", timeout=60_000)
        finally:
            browser.close()
