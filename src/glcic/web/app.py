"""The HTTP API and the page, as a FastAPI app. Every completion goes through `glcic.complete`.

    GET  /                the page (plain HTML/JS/CSS served from the package: no CDN, no telemetry)
    GET  /api/health      {"status": "ok", "running": n, "waiting": n, "capacity": n}
    GET  /api/info        the models' configurations (the first is the default), the server's limits, and
                          whether it can add texture (`texture`; `texture_problem` says what to install if not)
    POST /api/complete    multipart `image`, `mask` (+ optional `model`, `postprocess`, `invert_mask`, `native`, `texture`:
                          on by default where the server has PatchMatch, as on the page)
                          -> image/png, the completed image at the input's size
    GET  /docs            OpenAPI documentation

Errors are JSON `{"error": "..."}`: 400 for bad images, masks or fields; 413 for uploads over the size
limit (refused from the Content-Length header or while reading, before decoding) and images over the
pixel limit (refused from the image header, before decoding); 503 with Retry-After when the queue is
full. A bounded queue sits in front of the model: `workers` completions run at once in threads,
`queue_size` more wait, and anything beyond is refused at once, so memory stays bounded and no
request hangs.
"""


from dataclasses import dataclass
from importlib import resources

from glcic.errors import GlcicError

RETRY_AFTER_SECONDS = 2


@dataclass
class Limits:
    max_upload_bytes: int = 20 * 2**20
    max_pixels: int = 50_000_000
    workers: int = 1
    queue_size: int = 4


class _Queue:
    """Counts the requests being completed or waiting; refuses one more than `capacity`."""

    def __init__(self, workers: int, queue_size: int):
        import anyio

        self.limiter = anyio.CapacityLimiter(workers)
        self.capacity = workers + queue_size
        self.pending = 0

    def try_enter(self) -> bool:
        if self.pending >= self.capacity:
            return False
        self.pending += 1
        return True

    def leave(self) -> None:
        self.pending -= 1


class UploadLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 before it is read (Content-Length)
    or as soon as it passes the limit (chunked uploads: whatever the app was about to answer is
    dropped); a body that stalls for `read_timeout` seconds gets 408 and the connection is closed."""

    def __init__(self, app, limit: int, read_timeout: float = 30.0):
        self.app, self.limit, self.read_timeout = app, limit, read_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        import anyio
        from starlette.responses import JSONResponse

        too_large = JSONResponse({"error": f"upload over the limit of {self.limit / 2**20:g} MB"}, status_code=413)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or len(length) > 18):
            return await JSONResponse({"error": "invalid Content-Length header"}, status_code=400)(scope, receive, send)
        if length is not None and int(length) > self.limit:
            return await too_large(scope, receive, send)
        received, refused = 0, None

        async def counted_receive():
            nonlocal received, refused
            try:
                with anyio.fail_after(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                refused = JSONResponse({"error": f"the request body stalled for {self.read_timeout:g} s"}, status_code=408,
                                       headers={"Connection": "close"})
                raise _Refused from None
            received += len(message.get("body", b""))
            if received > self.limit:
                refused = too_large
                raise _Refused
            return message

        async def guarded_send(message):
            if refused is None:  # once the body is refused, the app's own answer (a parse error) is dropped
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _Refused:
            pass
        except Exception:  # noqa: BLE001 - e.g. the form parser wrapping our exception: the refusal below says why
            if refused is None:
                raise
        if refused is not None:
            await refused(scope, receive, send)


class _Refused(Exception):
    pass


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise GlcicError(f"field {name} must be true or false, got {value!r}")


def create_app(model, limits: Limits | None = None):
    """The FastAPI app serving `model` (a `glcic.load_model` result, or a dict of them by name, the
    first the default: a request's `model` field picks one) with `limits`."""
    import anyio
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    from glcic import __version__
    from glcic.errors import ImageError, MaskError
    from glcic.image_io import TooManyPixels, decode_image, encode_image
    from glcic.inference.complete import complete

    models = dict(model) if isinstance(model, dict) else {"model": model}
    default_name = next(iter(models))
    limits = limits or Limits()
    queue = _Queue(limits.workers, limits.queue_size)
    app = FastAPI(title="glcic", version=__version__, description="Globally and Locally Consistent Image Completion: "
                  "paint a hole, get it completed.")
    static = resources.files("glcic.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    def error(status: int, message: str, headers: dict | None = None):
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):  # 404, 405, the form parser's 400: one format
        detail = exc.detail if isinstance(exc.detail, str) else "bad request"
        return error(exc.status_code, {"Not Found": "no such page or endpoint", "Method Not Allowed": "method not allowed here"}
                     .get(detail, detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):  # nothing of the internals leaves the server
        return error(500, "internal error: the completion failed")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        missing = [".".join(str(p) for p in e["loc"][1:]) for e in exc.errors() if e.get("type") == "missing"]
        return error(400, f"missing field(s): {', '.join(missing)}" if missing else f"invalid request: {exc.errors()[0].get('msg')}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/api/health")
    async def health():
        return {"status": "ok", "running_or_waiting": queue.pending, "capacity": queue.capacity}

    from glcic.inference.texture import texture_problem

    texture_missing = texture_problem()  # the page and the API add texture by default where this is None

    @app.get("/api/info")
    async def info():
        import dataclasses

        default = models[default_name]
        return {"model": dataclasses.asdict(default.config), "models": {name: dataclasses.asdict(m.config) for name, m in models.items()},
                "default_model": default_name, "device": str(default.device), "backend": default.backend,
                "precision": default.precision, "max_upload_bytes": limits.max_upload_bytes, "max_pixels": limits.max_pixels,
                "workers": limits.workers, "queue_size": limits.queue_size, "version": __version__,
                "texture": texture_missing is None, "texture_problem": texture_missing}

    def work(image_bytes: bytes, mask_bytes: bytes, options: dict, chosen) -> bytes:
        import warnings

        image = decode_image(image_bytes, "image", limits.max_pixels)
        mask = decode_image(mask_bytes, "mask", limits.max_pixels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            completed = complete(chosen, image, mask, **options)
        return encode_image(completed, ".png")

    @app.post("/api/complete", responses={200: {"content": {"image/png": {}}}, 400: {}, 413: {}, 503: {}})
    async def complete_endpoint(
        image: UploadFile = File(..., description="the photo (PNG, JPEG, WebP, TIFF, BMP)"),
        mask: UploadFile = File(..., description="same size; white (>= 0.2) = hole, or painted pixels on a transparent layer"),
        postprocess: str | None = Form(None, description="Poisson blending (default true)"),
        invert_mask: str | None = Form(None, description="black = hole (default false)"),
        native: str | None = Form(None, description="every hole at full resolution (default false)"),
        texture: str | None = Form(None, description="add the photo's own fine texture (PatchMatch's detail on the network's fill; "
                                   "default true where the server has PatchMatch: GET /api/info's `texture`)"),
        model: str | None = Form(None, description="which of the served models (GET /api/info lists them; default the first)"),
    ):
        chosen = models.get(model or default_name)
        if chosen is None:
            return error(400, f"unknown model {model!r}; this server has {', '.join(models)}")
        try:
            options = {"postprocess": _flag(postprocess, "postprocess", True), "invert_mask": _flag(invert_mask, "invert_mask", False),
                       "native": _flag(native, "native", False), "texture": _flag(texture, "texture", texture_missing is None)}
        except GlcicError as problem:
            return error(400, str(problem))
        if not queue.try_enter():
            return error(503, "the server is busy; try again in a moment", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        try:
            image_bytes, mask_bytes = await image.read(), await mask.read()
            if not image_bytes or not mask_bytes:
                return error(400, f"the {'image' if not image_bytes else 'mask'} upload is empty")
            png = await anyio.to_thread.run_sync(work, image_bytes, mask_bytes, options, chosen, limiter=queue.limiter)
        except TooManyPixels as problem:
            return error(413, str(problem))
        except (ImageError, MaskError, GlcicError) as problem:
            return error(400, str(problem))
        finally:
            queue.leave()
        return Response(png, media_type="image/png")

    return UploadLimit(app, limits.max_upload_bytes)
