"""Inference model files: safetensors weights with the JSON `ModelConfig` in the same file.

One `.safetensors` file holds the completion network's state dict and, in the safetensors header's
metadata under `glcic.config`, the model config (architecture, width, mean pixel, training resolution
and holes, format version). Any safetensors reader can inspect it; `glcic info MODEL` prints it.

Loading never unpickles anything: safetensors is a plain header + raw tensors, and a file that is
not one (a PyTorch pickle checkpoint, an image, text) is refused with a `ModelFileError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from glcic.config import ModelConfig
from glcic.errors import ModelFileError
from glcic.utils import write_atomic
from glcic.models.completion import CompletionNetwork, fuse_batchnorm

CONFIG_KEY = "glcic.config"
BUNDLED_MODEL = Path(__file__).parent / "assets" / "glcic-cpu.safetensors"  # see assets/MODEL_CARD.md
_PICKLE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # zip (torch.save) or raw pickle


@dataclass
class CompletionModel:
    """A completion network ready for inference, with the config it was trained under.

    `network` is in eval mode with batch norm folded into the convs (exact for conv -> BN -> ReLU),
    on `device`, in `memory_format`.
    """

    network: torch.nn.Module
    config: ModelConfig
    device: torch.device
    channels_last: bool = False

    def to(self, device: str | torch.device, channels_last: bool | None = None) -> "CompletionModel":
        """Move the network in place (no-op when already there); returns self."""
        device = torch.device(device)
        channels_last = self.channels_last if channels_last is None else channels_last
        if device != self.device or channels_last != self.channels_last:
            memory_format = torch.channels_last if channels_last else torch.contiguous_format
            self.network.to(device=device, memory_format=memory_format)
            self.device, self.channels_last = device, channels_last
        return self


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
    tensors = {
        name: (t.detach().to("cpu", dtype) if t.is_floating_point() else t.detach().cpu()).contiguous()
        for name, t in network.state_dict().items()
    }
    write_atomic(path, save(tensors, metadata={CONFIG_KEY: config.to_json()}))


def read_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], ModelConfig]:
    """The raw state dict (float32) and config of a model file, with every failure a `ModelFileError`."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    with open(path, "rb") as handle:
        head = handle.read(8)
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
    if CONFIG_KEY not in metadata:
        raise ModelFileError(f"{path} is a safetensors file but not a glcic model (no {CONFIG_KEY!r} metadata)")
    try:
        config = ModelConfig.from_json(metadata[CONFIG_KEY])
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{path} has an invalid model config: {error}") from None
    tensors = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    return tensors, config


def load_network(path: str | os.PathLike) -> tuple[CompletionNetwork, ModelConfig]:
    """The trainable `CompletionNetwork` (float32, CPU, train mode) and config stored in a model file."""
    tensors, config = read_model_file(path)
    network = CompletionNetwork(width=config.width)
    expected = network.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match a CompletionNetwork of width {config.width}: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
        )
    wrong = [n for n, t in tensors.items() if t.shape != expected[n].shape]
    if wrong:
        raise ModelFileError(f"{path}: tensor shapes do not match the architecture: {wrong[:5]}")
    network.load_state_dict(tensors)
    return network, config


def bundled_model_path() -> Path:
    """The model that ships with glcic (trained with `glcic train`; see assets/MODEL_CARD.md)."""
    if not BUNDLED_MODEL.is_file():
        raise ModelFileError(f"the bundled model is missing from this installation ({BUNDLED_MODEL}); pass --model PATH")
    return BUNDLED_MODEL


def load_model(path: str | os.PathLike | None = None, device: str | torch.device = "cpu", channels_last: bool = False) -> CompletionModel:
    """Load a model file for inference (the bundled model when `path` is None): nothing unpickled."""
    network, config = load_network(bundled_model_path() if path is None else path)
    model = CompletionModel(fuse_batchnorm(network.eval()), config, torch.device("cpu"))
    return model.to(device, channels_last)
