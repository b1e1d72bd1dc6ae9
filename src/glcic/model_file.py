"""Inference model files: safetensors weights with the JSON `ModelConfig` in the same file.

One `.safetensors` file holds the completion network's state dict and, in the safetensors header's
metadata under `glcic.config`, the model config (architecture, width, mean pixel, training resolution
and holes, format version). Any safetensors reader can inspect it; `glcic info MODEL` prints it.

The runnable model (`glcic.inference.model.load_model`) is built on these readers.
Loading never unpickles anything: safetensors is a plain header + raw tensors, and a file that is
not one (a PyTorch pickle checkpoint, an image, text) is refused with a `ModelFileError`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from glcic.config import BUNDLED_MODELS, CONFIG_KEY, DEFAULT_MODEL, ModelConfig
from glcic.errors import ModelFileError
from glcic.models.completion import CompletionNetwork
from glcic.utils import write_atomic

MAX_WEIGHT = 1e4  # trained weights are below 100; past this, activations overflow float16 / float32 within a few layers
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # zip (torch.save) or raw pickle


def save_model(
    path: str | os.PathLike,
    network: CompletionNetwork,
    config: ModelConfig,
    dtype: torch.dtype = torch.float32,
) -> None:
    """Write `network`'s weights (stored as `dtype`, e.g. float16 to halve the file) and `config`."""
    from safetensors.torch import save

    if round(network.width, 6) != round(config.width, 6):
        raise ValueError(f"network width {network.width} does not match config width {config.width}")
    if network.noise != config.noise:
        raise ValueError(f"network has {network.noise} noise layers, its config says {config.noise}")
    tensors = {
        name: (t.detach().to("cpu", dtype) if t.is_floating_point() else t.detach().cpu()).contiguous()
        for name, t in network.state_dict().items()
    }
    broken = check_tensors(tensors)
    if broken:
        raise ModelFileError(f"refusing to write {path}: {broken}")
    write_atomic(path, save(tensors, metadata={CONFIG_KEY: config.to_json()}))


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], ModelConfig]:
    """The raw state dict (float32) and config of a model file, with every failure a `ModelFileError`."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if path.suffix.lower() == ".onnx":
        raise ModelFileError(f"{path} is an ONNX file; run it with --backend onnx (the torch backend reads .safetensors)")
    if head.startswith(_PICKLE_MAGIC):
        raise ModelFileError(
            f"{path} looks like a pickled PyTorch checkpoint; glcic never unpickles files. "
            "Use a .safetensors model file (a training run is turned into one with `glcic export`)."
        )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as error:
        raise ModelFileError(f"{path} is not a safetensors model file ({error})") from None
    config = ModelConfig.from_metadata(metadata, path, "safetensors")
    tensors = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    return tensors, config


def check_tensors(tensors: dict[str, torch.Tensor]) -> str | None:
    """What is wrong with a completion network's weights, or None: NaN or infinite values, a batch-norm
    running variance below zero, or weights so large that the network's output overflows."""
    not_finite = [n for n, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if not_finite:
        return f"holds NaN or infinite weights (in {', '.join(not_finite[:3])})"
    negative = [n for n, t in tensors.items() if n.endswith("running_var") and bool((t < 0).any())]
    if negative:
        return f"holds a negative batch-norm running variance (in {', '.join(negative[:3])})"
    huge = [n for n, t in tensors.items() if t.is_floating_point() and t.numel() and float(t.abs().max()) > MAX_WEIGHT]
    if huge:
        return f"holds weights over {MAX_WEIGHT:g} in magnitude (in {', '.join(huge[:3])}), which overflow the network"
    return None


def load_network(path: str | os.PathLike) -> tuple[CompletionNetwork, ModelConfig]:
    """The trainable `CompletionNetwork` (float32, CPU, train mode) and config stored in a model file."""
    tensors, config = read_model_file(path)
    network = CompletionNetwork(width=config.width, noise=config.noise)
    expected = network.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match a CompletionNetwork of width {config.width} with {config.noise} noise layers: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
        )
    wrong = [n for n, t in tensors.items() if t.shape != expected[n].shape]
    if wrong:
        raise ModelFileError(f"{path}: tensor shapes do not match the architecture: {wrong[:5]}")
    not_float = [n for n, t in tensors.items() if expected[n].is_floating_point() and not t.is_floating_point()]
    if not_float:
        raise ModelFileError(f"{path}: weights must be floating point, but {not_float[:3]} are {tensors[not_float[0]].dtype}")
    broken = check_tensors(tensors)
    if broken:
        raise ModelFileError(f"{path} {broken}: the file is corrupt, or it was exported from a run that diverged")
    network.load_state_dict(tensors)
    return network, config


def bundled_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The file of the bundled model `name` (trained with `glcic train`; see assets/MODEL_CARD_NAME.md)."""
    if name not in BUNDLED_MODELS:
        raise ModelFileError(f"no bundled model is called {name!r}; choose one of {sorted(BUNDLED_MODELS)} or give a file")
    path = BUNDLED_MODELS[name]
    if not path.is_file():
        raise ModelFileError(f"the bundled model {name!r} is missing from this installation ({path}); pass --model PATH")
    return path


def model_source(model: str | os.PathLike | None) -> Path:
    """Where a model comes from: None is the default bundled model, a bundled model's name
    (`accurate`) is that model, anything else is a file path (write ./accurate for a file of that name)."""
    if model is None:
        return bundled_model_path()
    if isinstance(model, str) and model in BUNDLED_MODELS:
        return bundled_model_path(model)
    return Path(model)
