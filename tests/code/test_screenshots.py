"""`make screenshots` still works: docs/screenshots/take.py builds its world, starts its servers
and writes a plausible PNG of each UI page that docs/first-hour.md shows."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TAKE = REPO_ROOT / "docs" / "screenshots" / "take.py"
CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SHOTS = ("prefect-deployments.png", "mlflow-runs.png", "portal-login.png",
         "portal-audiences.png", "portal-segment.png")
# A blank page of this viewport compresses to a few kilobytes; every real page is far larger.
MIN_BYTES = 15_000
# The command's own budget is three minutes; a busy two-core machine gets some slack.
TIMEOUT_SECONDS = 420


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk, after checking the signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG file"
    assert head[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    return struct.unpack(">II", head[16:24])


def _distinct_colours(path: Path) -> int:
    """Distinct colours in the picture: a blank or failed page has one or two."""
    from PIL import Image

    with Image.open(path) as image:
        return len(image.convert("RGB").getcolors(maxcolors=1 << 24))


@pytest.mark.browser
def test_the_screenshot_command_writes_a_plausible_png_of_each_ui(tmp_path):
    # Given Chromium and Playwright
    if not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing (`make browser` installs it)")
        pytest.skip(f"{CHROMIUM} is not installed; install it with `make browser`")
    pytest.importorskip("playwright")
    out_dir = tmp_path / "shots"

    # When the screenshot command runs into a temporary folder
    done = subprocess.run([sys.executable, str(TAKE), "--out", str(out_dir)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)

    # Then it succeeds and names exactly the files it wrote
    assert done.returncode == 0, f"take.py failed:\n{done.stderr[-3000:]}"
    assert done.stdout.split() == [str(out_dir / name) for name in SHOTS]
    # And each is a real, non-blank screenshot of at least the viewport's size
    for name in SHOTS:
        path = out_dir / name
        width, height = _png_size(path)
        assert width >= 1400 and height >= 900, (
            f"{name} is {width}x{height}, smaller than the 1400x900 viewport")
        assert path.stat().st_size > MIN_BYTES, f"{name} is only {path.stat().st_size} bytes"
        assert _distinct_colours(path) >= 50, f"{name} looks blank"
