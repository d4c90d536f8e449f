"""Headless Chromium for the report test: Debian's chromium and chromium-driver, driven by selenium.

Installed from Debian's packages when missing and this is root (as CI is);
elsewhere the test is skipped with the reason. Chromium starts without any
network of its own (the machine reaches none): the report is one local file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

PACKAGES = ["chromium", "chromium-driver"]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver unless they are there; skip the test where that cannot be."""
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"no {CHROMIUM} and {CHROMEDRIVER}, and they cannot be installed here "
                    "(needs root and apt-get): apt-get install chromium chromium-driver")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES], check=True, env=env,
                   capture_output=True)


def headless_chromium():
    """A selenium driver of a fresh headless Chromium (its own empty profile); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    ensure_chromium()
    options = webdriver.ChromeOptions()
    for flag in FLAGS + [f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"]:
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
