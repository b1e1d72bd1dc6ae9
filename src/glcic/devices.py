"""Devices and precisions, decided in one place for completion, evaluation, benchmarks and training.

- `resolve_device("auto")` picks CUDA when it is there, else the CPU; a device that is not there is
  an error that names it.
- `resolve_precision("auto", device)` picks bf16 where it is fast (GPUs; CPUs with AMX or
  AVX512-BF16) and fp32 elsewhere: on AVX-512 CPUs without bf16 instructions,
  PyTorch's bf16 convolutions are emulated and run several times slower than fp32 (docs/benchmarks.md
  has the measurements per CPU kind).
- `autocast(device, precision)` is the context the network runs in.
"""

from __future__ import annotations

import functools
from contextlib import nullcontext

from glcic.errors import GlcicError

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")  # int8: the ONNX backend only
TRAINING_PRECISIONS = ("auto", "fp32", "bf16")  # training runs torch autocast (no fp16 loss scaling, no int8)
BACKENDS = ("torch", "onnx")
HALF_DTYPES = {"bf16": "bfloat16", "fp16": "float16"}  # torch dtype names (torch is imported where it is used)


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
def cpu_bf16_flags() -> frozenset[str]:
    """The CPU's bf16 instruction flags from /proc/cpuinfo (amx_bf16, avx512_bf16), or PyTorch's own check."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(flag for flag in line.split() if flag in ("amx_bf16", "amx_tile", "avx512_bf16"))
    except OSError:
        pass
    import torch

    return frozenset({"amx_bf16"}) if torch.backends.cpu.get_cpu_capability() == "AMX" else frozenset()


def cpu_has_fast_bf16() -> bool:
    """AMX, or AVX512-BF16 (native bf16 instructions); without them PyTorch emulates bf16, which
    runs several times slower than fp32 (docs/benchmarks.md has the measurements per CPU kind)."""
    return bool(cpu_bf16_flags())


def resolve_precision(precision: str, device, backend: str = "torch") -> str:
    """The concrete precision for `precision` ("auto" decided here) on `device` with `backend`.

    auto: bf16 on GPUs and on CPUs with native bf16 instructions (AMX or AVX512-BF16), for
    inference and training alike; fp32 everywhere else."""
    if precision not in PRECISIONS:
        raise GlcicError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    if precision == "auto":
        if backend == "onnx":
            return "fp32"
        if device.type == "cuda":
            return "bf16"
        return "bf16" if device.type == "cpu" and cpu_has_fast_bf16() else "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise GlcicError("fp16 is for GPUs; on the CPU use bf16 (fast with AMX only) or fp32")
    if precision == "int8" and backend != "onnx":
        raise GlcicError("int8 runs through the ONNX backend; add --backend onnx")
    if backend == "onnx" and precision in ("bf16", "fp16"):
        raise GlcicError(f"the ONNX backend runs fp32 or int8, not {precision}")
    return precision


def torch_dtype(precision: str):
    """The torch dtype of a concrete torch precision: float32, bfloat16 or float16."""
    import torch

    return getattr(torch, HALF_DTYPES.get(precision, "float32"))


def autocast(device, precision: str):
    """The autocast context for a torch precision, used in training (none for fp32)."""
    import torch

    return nullcontext() if precision not in HALF_DTYPES else torch.autocast(device.type, dtype=torch_dtype(precision))
