"""The README's screenshot of the page, taken by Debian's Chromium through Playwright.

    python scripts/screenshot_web.py docs/web.png [--photo examples/images/stream.jpg] [--no-texture]

Starts `glcic serve` with every bundled model, opens the photo, paints a stroke over part of it,
chooses `--model` in the page, completes it, and saves the page (after completion) and the page
while painting (NAME-painting.png).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/lib/chromium/chromium"


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path)
    parser.add_argument("--photo", type=Path, default=Path("examples/images/stream.jpg"))
    parser.add_argument("--stroke", type=float, nargs="+", default=[0.62, 0.30, 0.70, 0.45, 0.75, 0.62],
                        help="stroke points as fractions of the photo's width and height: x1 y1 x2 y2 ...")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--model", default="accurate", help="the bundled model chosen in the page")
    parser.add_argument("--no-texture", action="store_true", help="untick Photo texture (on by default where the server has PatchMatch)")
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "glcic", "serve", "--port", str(args.port)])
    url = f"http://127.0.0.1:{args.port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url + "api/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 640})
            page.goto(url)
            page.set_input_files("#file", str(args.photo))
            page.wait_for_function("document.getElementById('photo').width > 0")
            page.fill("#size", str(args.size))
            page.dispatch_event("#size", "input")
            box = page.locator("#mask").bounding_box()
            points = list(zip(args.stroke[::2], args.stroke[1::2]))
            page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=12)
            page.mouse.up()
            page.screenshot(path=str(args.output.with_name(args.output.stem + "-painting.png")))
            if page.locator("#model option").count() > 1:  # the choice shows only with several models
                page.select_option("#model", args.model)
            page.wait_for_function("document.getElementById('texture').checked || document.getElementById('texture').disabled")
            if args.no_texture:
                page.uncheck("#texture")
            page.click("#complete")
            page.wait_for_function("!document.body.dataset.busy && !document.getElementById('download').disabled", timeout=120_000)
            page.mouse.move(0, 0)
            page.screenshot(path=str(args.output))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
