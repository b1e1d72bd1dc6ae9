"""The HTTP API: every error path through Starlette's TestClient, and 20 concurrent clients on a real server."""

import io
import threading
import urllib.error
import urllib.request
import uuid

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from conftest import box_mask, scene  # noqa: E402
from glcic.image_io import decode_image, encode_image  # noqa: E402
from glcic.web.app import Limits, create_app  # noqa: E402


@pytest.fixture(scope="module")
def client(model):
    return TestClient(create_app(model, Limits(max_upload_bytes=2 * 2**20, max_pixels=400 * 300, workers=1, queue_size=1)))


def png(array) -> bytes:
    return encode_image(array, ".png")


@pytest.fixture(scope="module")
def upload():
    image = scene(120, 160, seed=3)
    mask = box_mask(120, 160, (30, 40, 30, 50)).astype(np.uint8) * 255
    return image, mask


def post(client, image_bytes, mask_bytes, **fields):
    files = {"image": ("photo.png", image_bytes, "image/png"), "mask": ("mask.png", mask_bytes, "image/png")}
    return client.post("/api/complete", files=files, data=fields)


def test_health_info_page_and_docs(client, model):
    assert client.get("/api/health").json()["status"] == "ok"
    info = client.get("/api/info").json()
    assert info["model"]["width"] == model.config.width and info["max_pixels"] == 400 * 300
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"mask\">" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200 and "/api/complete" in client.get("/openapi.json").text


def test_complete_returns_the_image_changed_only_in_the_hole(client, upload):
    image, mask = upload
    response = post(client, png(image), png(mask))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    result = decode_image(response.content)
    hole = mask > 127
    assert result.shape == image.shape
    np.testing.assert_array_equal(result[~hole], image[~hole])
    assert np.any(result[hole] != image[hole])
    raw = decode_image(post(client, png(image), png(mask), postprocess="false").content)
    assert np.any(raw[hole] != result[hole])  # the field reaches complete()


def test_info_says_whether_texture_can_run(client, model, monkeypatch):
    import importlib.util

    assert client.get("/api/info").json()["texture"] is (importlib.util.find_spec("patchmatch") is not None)
    monkeypatch.setattr("glcic.inference.texture.texture_problem", lambda: "texture synthesis needs the pypatchmatch package")
    info = TestClient(create_app(model)).get("/api/info").json()
    assert info["texture"] is False and "pypatchmatch" in info["texture_problem"]


def test_texture_field_reaches_complete(client, upload, model):
    pytest.importorskip("patchmatch")
    import glcic

    image, mask = upload
    textured = decode_image(post(client, png(image), png(mask), texture="true").content)
    np.testing.assert_array_equal(textured, glcic.complete(model, image, mask, texture=True))
    assert post(client, png(image), png(mask), texture="often").status_code == 400
    # unasked, the API adds texture where the server has PatchMatch, as the page does; "false" gives the network's fill
    np.testing.assert_array_equal(decode_image(post(client, png(image), png(mask)).content), textured)
    np.testing.assert_array_equal(decode_image(post(client, png(image), png(mask), texture="false").content),
                                  glcic.complete(model, image, mask))


def test_without_patchmatch_the_api_completes_without_texture_unless_asked(model, upload, monkeypatch):
    import glcic

    monkeypatch.setattr("glcic.inference.texture.texture_problem", lambda: "texture synthesis needs the pypatchmatch package")
    client = TestClient(create_app(model))  # the server decides what it can do when it starts
    image, mask = upload
    np.testing.assert_array_equal(decode_image(post(client, png(image), png(mask)).content), glcic.complete(model, image, mask))


def test_invert_mask_field(client, upload):
    image, mask = upload
    result = decode_image(post(client, png(image), png(255 - mask), invert_mask="true").content)
    np.testing.assert_array_equal(result[mask < 128], image[mask < 128])


@pytest.mark.parametrize("case, status, message", [
    ("not an image", 400, "not an image file"),
    ("mask not an image", 400, "mask is not an image file"),
    ("empty image", 400, "image upload is empty"),
    ("size mismatch", 400, "they must match"),
    ("whole mask", 400, "covers the whole image"),
    ("bad flag", 400, "field postprocess must be true or false"),
    ("missing mask", 400, "missing field(s): mask"),
    ("too many pixels", 413, "over the limit of 120,000"),
    ("bomb header", 413, "decompression bomb"),
    ("upload too large", 413, "upload over the limit"),
])
def test_errors_are_json_with_the_right_status(client, upload, case, status, message):
    image, mask = upload
    image_bytes, mask_bytes, fields = png(image), png(mask), {}
    if case == "not an image":
        image_bytes = b"hello, not an image"
    elif case == "mask not an image":
        mask_bytes = b"\x89PNG broken"
    elif case == "empty image":
        image_bytes = b""
    elif case == "size mismatch":
        mask_bytes = png(np.zeros((50, 50), np.uint8) + 255)
    elif case == "whole mask":
        mask_bytes = png(np.full(mask.shape, 255, np.uint8))
    elif case == "bad flag":
        fields = {"postprocess": "maybe"}
    elif case == "too many pixels":
        image_bytes = png(scene(400, 400))
    elif case == "bomb header":  # a tiny file whose header claims 30000 x 30000 pixels
        from PIL import Image

        buffer = io.BytesIO()
        Image.new("1", (30000, 30000)).save(buffer, "PNG")
        image_bytes = buffer.getvalue()
        assert len(image_bytes) < 200_000
    elif case == "upload too large":
        image_bytes = bytes(3 * 2**20)
    if case == "missing mask":
        response = client.post("/api/complete", files={"image": ("photo.png", image_bytes, "image/png")})
    else:
        response = post(client, image_bytes, mask_bytes, **fields)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_twenty_concurrent_clients_get_200_or_503_and_the_server_stays_healthy(model_path, upload):
    from conftest import start_server

    image, mask = upload
    process, url = start_server(model_path, "--workers", "1", "--queue-size", "2")
    try:
        boundary = uuid.uuid4().hex
        parts = []
        for name, data in (("image", png(image)), ("mask", png(mask))):
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.png\"\r\n"
                         f"Content-Type: image/png\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        results = [None] * 20

        def client_thread(index):
            request = urllib.request.Request(url + "api/complete", data=body, method="POST",
                                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    results[index] = (response.status, response.read(), None)
            except urllib.error.HTTPError as error:
                results[index] = (error.code, error.read(), error.headers.get("Retry-After"))

        rss_before = _rss(process.pid)
        threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads), "a request hung"
        statuses = [r[0] for r in results]
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 1 and statuses.count(503) >= 1, statuses
        for status, content, retry_after in results:
            if status == 200:
                assert decode_image(content).shape == image.shape
            else:
                assert retry_after is not None and b"busy" in content
        assert _rss(process.pid) - rss_before < 300 * 2**20  # memory bounded by the queue
        with urllib.request.urlopen(url + "api/health", timeout=10) as response:
            assert b'"ok"' in response.read()
        request = urllib.request.Request(url + "api/complete", data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200  # and it still completes afterwards
    finally:
        process.terminate()
        process.wait(timeout=10)


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS"))


def test_a_server_with_several_models_completes_with_the_one_asked_for(model, upload):
    from glcic.inference.model import load_model

    other = load_model(None)  # the bundled model: a different network from the tiny one
    app = TestClient(create_app({"tiny": model, "bundled": other}, Limits(max_pixels=400 * 300)))
    info = app.get("/api/info").json()
    assert list(info["models"]) == ["tiny", "bundled"] and info["default_model"] == "tiny"
    image, mask = upload
    default, tiny, bundled = (post(app, png(image), png(mask), **fields) for fields in ({}, {"model": "tiny"}, {"model": "bundled"}))
    assert default.status_code == tiny.status_code == bundled.status_code == 200
    assert default.content == tiny.content and tiny.content != bundled.content
    unknown = post(app, png(image), png(mask), model="nope")
    assert unknown.status_code == 400 and "unknown model 'nope'" in unknown.json()["error"] and "tiny, bundled" in unknown.json()["error"]


def test_every_error_is_json_with_an_error_field(client, upload):
    assert client.get("/nope").status_code == 404 and client.get("/nope").json() == {"error": "no such page or endpoint"}
    wrong = client.get("/api/complete")
    assert wrong.status_code == 405 and wrong.json() == {"error": "method not allowed here"}
    broken = client.post("/api/complete", content=b"--x\r\nnot a form", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 400 and set(broken.json()) == {"error"}
    bad_length = client.post("/api/complete", content=b"1234567", headers={"Content-Length": "12x"})
    assert bad_length.status_code == 400 and set(bad_length.json()) == {"error"}


def test_a_chunked_upload_over_the_limit_gets_413(client, upload):
    def chunks():
        yield b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
        for _ in range(40):
            yield b"\0" * 65536  # 2.5 MB in all, over the 2 MB limit, with no Content-Length
    response = client.post("/api/complete", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413 and "limit" in response.json()["error"]


def test_an_internal_failure_is_a_json_500_without_internals(model, upload, monkeypatch):
    import glcic.inference.complete

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals /home/user/path")

    monkeypatch.setattr(glcic.inference.complete, "complete", broken)
    app = TestClient(create_app(model), raise_server_exceptions=False)
    image, mask = upload
    response = post(app, png(image), png(mask))
    assert response.status_code == 500 and response.json() == {"error": "internal error: the completion failed"}
    assert "secret" not in response.text


def test_a_stalled_body_is_answered_408_after_the_read_timeout():
    import anyio

    from glcic.web.app import UploadLimit

    async def app(scope, receive, send):  # never reached: the body stalls first
        await receive()

    sent = []

    async def receive():
        await anyio.sleep(10)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", b"100000")]}
    anyio.run(UploadLimit(app, 2**20, read_timeout=0.2), scope, receive, send)
    assert sent[0]["status"] == 408


def test_bytes_that_are_not_http_get_a_json_400_from_the_real_server(model_path):
    import json
    import socket

    from conftest import start_server

    process, url = start_server(model_path)
    try:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for garbage in (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http\r\n\r\n", b"GET / HTTP/1.1\r\nHost x\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(garbage)
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head.lower(), answer
            assert "malformed HTTP request" in json.loads(body)["error"]
        with urllib.request.urlopen(url + "api/health", timeout=10) as response:
            assert response.status == 200  # and the server goes on
    finally:
        process.terminate()
        process.wait(timeout=10)
