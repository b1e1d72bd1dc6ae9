"""Devices and precisions, decided in one place for completion, evaluation, benchmarks and training.

- `resolve_device("auto")` picks CUDA when it is there, else the CPU; a device that is not there is
  an error that names it.
- `resolve_precision("auto", device)` picks bf16 where it is fast (GPUs; CPUs with AMX matrix
  units) and fp32 elsewhere: on CPUs without AMX, PyTorch's bf16 convolutions are emulated and run
  several times slower than fp32 (measured: see the README's benchmark tables).
- `autocast(device, precision)` is the context the network runs in.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

from glcic.errors import GlcicError

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")  # int8: the ONNX backend only
BACKENDS = ("torch", "onnx")
AUTOCAST_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}  # torch dtype names (torch is imported where it is used)


def resolve_device(device):
    """'auto' (or None) picks CUDA when available, else CPU; an unavailable device is an error."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise GlcicError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GlcicError(f"device {device} was asked for, but CUDA is not available on this machine; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GlcicError("device mps was asked for, but MPS is not available on this machine")
    return device


@functools.lru_cache(maxsize=1)
def cpu_has_amx() -> bool:
    """Whether this CPU has AMX bf16 matrix units (read from /proc/cpuinfo, or PyTorch's own check)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return "amx_bf16" in line.split() or "amx_tile" in line.split()
    except OSError:
        pass
    import torch

    return torch.backends.cpu.get_cpu_capability() == "AMX"


def resolve_precision(precision: str, device, backend: str = "torch") -> str:
    """The concrete precision for `precision` ("auto" decided here) on `device` with `backend`."""
    if precision not in PRECISIONS:
        raise GlcicError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    if precision == "auto":
        if backend == "onnx":
            return "fp32"
        return "bf16" if device.type == "cuda" or (device.type == "cpu" and cpu_has_amx()) else "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise GlcicError("fp16 is for GPUs; on the CPU use bf16 (fast with AMX only) or fp32")
    if precision == "int8" and backend != "onnx":
        raise GlcicError("int8 runs through the ONNX backend; add --backend onnx")
    if backend == "onnx" and precision in ("bf16", "fp16"):
        raise GlcicError(f"the ONNX backend runs fp32 or int8, not {precision}")
    return precision


def autocast(device, precision: str):
    """The autocast context for a torch precision (none for fp32)."""
    import torch

    dtype = AUTOCAST_DTYPES.get(precision)
    return nullcontext() if dtype is None else torch.autocast(device.type, dtype=getattr(torch, dtype))
