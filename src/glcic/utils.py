"""Small helpers shared by several modules."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then move it over `path` in one step."""
    from glcic.errors import GlcicError

    path = Path(path)
    temporary = path.with_name(f".glcic-{os.getpid()}-{os.urandom(4).hex()}.tmp")  # short: the target's name may be at the limit
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise GlcicError(f"cannot write {path}: {error.strerror or error}") from None
        raise


class Registry(dict):
    """Named choices a user picks from (hole samplers, mask protocols, methods, metrics).

    `registry.register(name)` is a decorator (or `register(name, value)` a call); `names()` lists the
    choices; `choose(name)` returns one, or raises an error that lists the valid names.
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str, value=None):
        if value is not None:
            self[name] = value
            return value

        def decorate(item):
            self[name] = item
            return item

        return decorate

    def names(self) -> list[str]:
        return list(self)

    def choose(self, name: str):
        if name not in self:
            from glcic.errors import UnknownChoiceError

            raise UnknownChoiceError(f"unknown {self.kind} {name!r}; choose one of {sorted(self)}")
        return self[name]
