"""Small helpers shared by several modules."""

from __future__ import annotations

import os
from pathlib import Path


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the `.glcic-PID-*.tmp` files that a killed glcic process left in `folder` (those whose
    process is gone; a running one's are left alone)."""
    try:
        leftovers = list(folder.glob(".glcic-*-*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        try:
            pid = int(leftover.name.split("-")[1])
            os.kill(pid, 0)  # raises when no such process exists
        except ProcessLookupError:
            try:
                leftover.unlink()
            except OSError:
                pass
        except (ValueError, IndexError, PermissionError, OSError):
            continue  # not ours, or a process of another user: alive


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then move it over `path` in one step."""
    from glcic.errors import GlcicError

    path = Path(path)
    remove_stale_temporaries(path.parent)
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
