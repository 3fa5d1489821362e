"""Fixtures of the browser tests: the built site on a loopback HTTP server, and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, or ``CHROMIUM``) driven by Playwright; nothing is
downloaded at test time. One server and one browser serve a whole pytest worker; every test gets
its own browser context (fresh storage) and page.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from sitepages import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, SITE_DIR, Recorder, site_missing_reason


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site_dir() -> Path:
    reason = site_missing_reason()
    if reason:
        pytest.fail(reason)
    return SITE_DIR


@pytest.fixture(scope="session")
def site_url(site_dir):
    """Base URL (ending in /) of the site served from 127.0.0.1 on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}. Fix: `apt-get install -y chromium` (the "
                    "test command does it when it is missing) or set CHROMIUM to its path.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def new_page(chromium, site_url):
    """Factory: ``new_page(dark=False)`` -> (page, recorder), each in a fresh context."""
    contexts = []

    def make(dark: bool = False, viewport=(1280, 900)):
        mode = "dark" if dark else "light"
        context = chromium.new_context(
            base_url=site_url, color_scheme=mode, service_workers="block",
            viewport={"width": viewport[0], "height": viewport[1]})
        # The theme reads the reader's choice from localStorage before it paints.
        context.add_init_script(
            f"try {{ localStorage.setItem('mode', '{mode}'); "
            f"localStorage.setItem('theme', '{mode}'); }} catch (e) {{}}")
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        recorder = Recorder()
        recorder.attach(page)
        return page, recorder

    yield make
    for context in contexts:
        context.close()
