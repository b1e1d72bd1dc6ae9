"""The page in a real browser: Debian's Chromium driven by Playwright against a real `glcic serve`.

Skipped, with the reason, only where Chromium or Playwright is missing (`.ci/run` installs both).
"""

from pathlib import Path

import numpy as np
import pytest

from conftest import scene, start_server

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/lib/chromium/chromium")  # the real binary; /usr/bin/chromium is a wrapper script
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]

if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install 'glcic[browser]')")


@pytest.fixture(scope="module")
def server(model_path):
    process, url = start_server(model_path)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def photo_file(tmp_path):
    from glcic.image_io import write_image

    path = tmp_path / "street.png"
    write_image(path, scene(300, 400, seed=5))
    return path


def paint(page, points, size=None):
    """Drag the mouse over the mask canvas through `points` given in photo pixels."""
    if size is not None:
        page.fill("#size", str(size))
        page.dispatch_event("#size", "input")
    box = page.locator("#mask").bounding_box()
    width = page.evaluate("document.getElementById('mask').width")
    scale = box["width"] / width
    to_screen = lambda x, y: (box["x"] + x * scale, box["y"] + y * scale)  # noqa: E731
    page.mouse.move(*to_screen(*points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*to_screen(*point), steps=8)
    page.mouse.up()


def test_paint_complete_download(server, browser, photo_file, tmp_path):
    from glcic.image_io import read_image

    page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(server)
    assert page.title().startswith("glcic")
    assert page.is_disabled("#complete")
    page.set_input_files("#file", str(photo_file))
    page.wait_for_function("document.getElementById('photo').width === 400")
    assert "400 × 300 px" in page.inner_text("#message")

    paint(page, [(100, 150), (200, 150), (300, 160)], size=20)
    assert page.is_enabled("#complete")
    page.keyboard.press("Control+z")  # undo, then redo with the keyboard
    assert page.is_disabled("#complete")
    page.keyboard.press("Control+Shift+z")
    assert page.is_enabled("#complete")

    page.click("#complete")
    page.wait_for_function("!document.body.dataset.busy && !document.getElementById('download').disabled", timeout=60_000)
    assert "Completed" in page.inner_text("#message")
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "street-completed.png"
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    original, result = read_image(photo_file), read_image(path)
    assert result.shape == original.shape
    changed = np.any(result != original, axis=2)
    rows, cols = np.nonzero(changed)
    assert changed[150, 150] and changed[152, 250]  # on the stroke
    assert rows.min() >= 150 - 12 and rows.max() <= 160 + 12 and cols.min() >= 100 - 12 and cols.max() <= 300 + 12  # nowhere else
    assert changed.sum() > 0.6 * (200 * 20)  # the whole stroke, not a few pixels

    # keep editing: a second pass starts from the result
    paint(page, [(50, 50), (60, 60)], size=10)
    page.click("#complete")
    page.wait_for_function("!document.body.dataset.busy && !document.getElementById('download').disabled", timeout=60_000)
    with page.expect_download() as download_info:
        page.click("#download")
    second = tmp_path / "second.png"
    download_info.value.save_as(second)
    again = read_image(second)
    assert np.array_equal(again[100:, :], result[100:, :])  # the first pass is kept
    assert np.any(again[40:70, 40:70] != result[40:70, 40:70])
    assert not [m for m in messages if "error" in m.lower()]
    page.close()


def test_the_photo_texture_box_starts_on_and_asks_the_server_for_texture(server, browser, photo_file):
    pytest.importorskip("patchmatch")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.add_init_script("""const send = window.fetch; window.sentTexture = [];
        window.fetch = (url, options) => { if (options && options.body instanceof FormData) window.sentTexture.push(options.body.get("texture"));
                                           return send(url, options); };""")  # what the page's form says, as sent
    page.goto(server)
    page.wait_for_function("document.getElementById('texture').checked")  # on, once the server said it can
    assert page.is_enabled("#texture")
    page.set_input_files("#file", str(photo_file))
    page.wait_for_function("document.getElementById('photo').width === 400")
    paint(page, [(100, 150), (200, 150)], size=20)
    page.click("#complete")
    page.wait_for_function("!document.body.dataset.busy && !document.getElementById('download').disabled", timeout=60_000)
    assert "Completed" in page.inner_text("#message")
    page.uncheck("#texture")
    paint(page, [(100, 250), (200, 250)], size=20)
    page.click("#complete")
    page.wait_for_function("window.sentTexture.length === 2 && !document.body.dataset.busy", timeout=60_000)
    assert page.evaluate("window.sentTexture") == ["true", "false"]
    page.close()


def test_the_photo_texture_box_is_off_and_says_why_where_the_server_cannot(server, browser):
    page = browser.new_page()

    def without_texture(route):
        info = route.fetch().json()
        route.fulfill(json={**info, "texture": False, "texture_problem": "texture synthesis needs the pypatchmatch package"})

    page.route("**/api/info", without_texture)
    page.goto(server)
    page.wait_for_function("document.getElementById('texture').disabled")
    assert not page.is_checked("#texture")
    assert "pypatchmatch" in page.get_attribute("label:has(#texture)", "title")
    page.close()


def test_server_errors_are_shown_in_the_page(model_path, browser, photo_file):
    process, url = start_server(model_path, "--max-pixels", "1000")
    try:
        page = browser.new_page()
        page.goto(url)
        page.set_input_files("#file", str(photo_file))
        page.wait_for_function("document.getElementById('photo').width === 400")
        paint(page, [(100, 100), (150, 120)], size=20)
        page.keyboard.press("Enter")  # the shortcut for Complete
        page.wait_for_function("document.getElementById('message').classList.contains('error')", timeout=60_000)
        assert "over the limit of 1,000" in page.inner_text("#message")
        assert page.is_enabled("#complete")  # not stuck busy
        page.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_page_uses_no_outside_resources(server, browser):
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server)
    page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(server) for url in requested)
    page.close()


def test_the_page_offers_the_bundled_models_and_completes_with_the_one_chosen(browser, photo_file):
    from glcic.config import BUNDLED_MODELS

    installed = [name for name, path in BUNDLED_MODELS.items() if path.is_file()]
    process, url = start_server(None)
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url)
        page.wait_for_function(f"document.getElementById('model').options.length === {len(installed)}")
        assert page.is_visible("#model-choice") == (len(installed) > 1)
        page.set_input_files("#file", str(photo_file))
        page.wait_for_function("document.getElementById('photo').width === 400")
        paint(page, [(100, 150), (200, 150)], size=20)
        if len(installed) > 1:  # the choice shows only when there is one to make
            page.select_option("#model", installed[-1])
        page.click("#complete")
        page.wait_for_function("!document.body.dataset.busy && !document.getElementById('download').disabled", timeout=60_000)
        assert "Completed" in page.inner_text("#message")
        assert page.input_value("#model") == installed[-1]  # what the form sent as `model` (the API test checks the field)
    finally:
        process.terminate()
        process.wait(timeout=10)
