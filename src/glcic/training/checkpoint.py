"""Training checkpoints: the whole state of a run, written atomically, read without unpickling code.

A checkpoint holds both networks, both optimizers, the iteration (which fixes the phase and the
position in the data), every RNG state, the training config and a format version, so a resumed run
continues exactly where it stopped. It is written to a temporary file and moved over the previous
one in one step: a run killed at any moment leaves the last complete checkpoint. It contains only
tensors and plain values and is read with `torch.load(weights_only=True)`.

The inference model file (`glcic export`) is separate: `glcic.model_file`, safetensors + config.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import numpy as np
import torch

from glcic.errors import GlcicError
from glcic.training.config import TRAIN_FORMAT_VERSION, TrainConfig
from glcic.utils import write_atomic

CHECKPOINT_NAME = "checkpoint.pt"


def rng_states() -> dict:
    """Every global RNG state (glcic's own randomness is seeded per sample; these cover the rest)."""
    numpy_state = np.random.get_state(legacy=False)
    states = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)), "pos": numpy_state["state"]["pos"],
                  "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"]},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = states["numpy"]
    np.random.set_state({
        "bit_generator": "MT19937",
        "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": numpy_state["pos"]},
        "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"],
    })
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def state_checksum(state) -> str:
    """SHA-256 over every tensor and plain value of a training state, in a fixed order."""
    import hashlib

    digest = hashlib.sha256()

    def visit(value, key: str) -> None:
        digest.update(key.encode())
        if isinstance(value, torch.Tensor):
            digest.update(value.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
        elif isinstance(value, dict):
            for name in sorted(value, key=str):
                visit(value[name], f"{key}/{name}")
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                visit(item, f"{key}[{index}]")
        else:
            digest.update(repr(value).encode())

    visit({k: v for k, v in state.items() if k != "rng"}, "")
    return digest.hexdigest()


def nonfinite_tensors(state_dict: dict) -> list[str]:
    """Names of the floating-point tensors of a state dict holding NaN or infinite values."""
    return [name for name, tensor in state_dict.items()
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]


def save_checkpoint(run_dir: str | os.PathLike, state: dict) -> Path:
    """Write `state` (see `training.loop`) atomically to RUN/checkpoint.pt. A state whose networks
    hold NaN or infinite weights is refused (ValueError): it could only be resumed into the same failure."""
    for network in ("completion", "discriminator"):
        broken = nonfinite_tensors(state.get(network) or {})
        if broken:
            raise ValueError(f"the {network} network holds NaN or infinite weights ({', '.join(broken[:3])})")
    path = Path(run_dir) / CHECKPOINT_NAME
    buffer = io.BytesIO()
    state = {**state, "format_version": TRAIN_FORMAT_VERSION, "rng": rng_states()}
    torch.save({**state, "checksum": state_checksum(state)}, buffer)
    write_atomic(path, buffer.getvalue())
    return path


def load_checkpoint(run_dir: str | os.PathLike) -> dict:
    """The state of RUN/checkpoint.pt, with its config as a `TrainConfig`."""
    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise GlcicError(f"no checkpoint in {run_dir} (expected {path}); was the run started?")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001
        raise GlcicError(f"cannot read checkpoint {path}: {error}") from None
    version = state.get("format_version") if isinstance(state, dict) else None
    checksum = state.pop("checksum", None) if isinstance(state, dict) else None
    if checksum is not None and checksum != state_checksum(state):
        raise GlcicError(f"checkpoint {path} is corrupt: its contents do not match the checksum written with it")
    if not isinstance(version, int) or version > TRAIN_FORMAT_VERSION:
        raise GlcicError(f"checkpoint {path} has format version {version!r}; this glcic reads up to {TRAIN_FORMAT_VERSION}")
    state["config"] = TrainConfig.from_dict(state["config"])
    return state
