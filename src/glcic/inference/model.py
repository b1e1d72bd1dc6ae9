"""The runnable completion model: a network ready for inference, how it runs, and how it is loaded.

`load_model` turns a model file (or a bundled model's name, or an .onnx file) into a
`CompletionModel`; `CompletionModel.run` is the only thing completion asks of it. The file format
itself is glcic.model_file's; the ONNX graph and its session are glcic.onnx_backend's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from glcic.config import ModelConfig
from glcic.devices import BACKENDS
from glcic.errors import ModelFileError


@dataclass
class CompletionModel:
    """A completion network ready for inference, with the config it was trained under and how it
    runs: `device`, `backend` ("torch", or "onnx" through onnxruntime) and a concrete `precision`
    ("fp32", "bf16", "fp16"; "int8" for onnx). `run` is the only thing completion asks of it.

    With the torch backend, `network` is in eval mode with batch norm folded into the convs (exact
    for conv -> BN -> ReLU), on `device`, channels_last (the faster layout for the folded network),
    its weights in the precision's dtype (cast once at load rather than by autocast at every call).
    """

    network: object  # torch.nn.Module, or an onnxruntime InferenceSession
    config: ModelConfig
    device: torch.device
    backend: str = "torch"
    precision: str = "fp32"

    def run(self, batch: np.ndarray) -> np.ndarray:
        """The network on a batch of inputs: (B, 4 + N, H, W) float32 (RGB with the hole mean-filled,
        then the mask, then N = config.noise noise maps; H, W multiples of 4) -> (B, 3, H, W) float32 in [0, 1]."""
        if self.backend == "onnx":
            from glcic.onnx_backend import run_session

            output = run_session(self.network, batch)
        else:
            tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            tensor = tensor.to(self.device, self.network.output.weight.dtype).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                output = self.network(tensor).float().cpu().numpy()
        if not np.isfinite(output).all():  # nothing black or NaN is ever composited into a photo
            raise ModelFileError("the model computed NaN or infinite values: its weights are broken (glcic info MODEL checks a file)")
        return output


def load_model(path: str | os.PathLike | None = None, *, device: str | torch.device = "cpu", backend: str = "torch",
               precision: str = "fp32") -> CompletionModel:
    """Load a model for inference: `path` is a file, a bundled model's name, or None for the default
    bundled model (glcic.model_file.model_source). Nothing is unpickled.

    device: "cpu", "cuda", "cuda:N" or "auto"; backend: "torch" or "onnx" (a model file is
    converted in memory, or an exported .onnx file is read); precision: "auto" (torch: bf16 on GPUs
    and on CPUs with AMX or AVX512-BF16, fp32 elsewhere; onnx: what the file holds, int8 or fp32),
    "fp32", "bf16", "fp16" (GPU), "int8" (onnx)."""
    from glcic.devices import resolve_device, resolve_precision, torch_dtype
    from glcic.model_file import load_network, model_source
    from glcic.models.completion import fuse_batchnorm

    if backend not in BACKENDS:
        raise ModelFileError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}")
    device = resolve_device(device)
    requested, precision = precision, resolve_precision(precision, device, backend)
    source = model_source(path)
    if backend == "onnx":
        return _load_onnx_model(source, device, "auto" if requested == "auto" else precision)
    network, config = load_network(source)
    fused = fuse_batchnorm(network.eval()).to(device, torch_dtype(precision), memory_format=torch.channels_last)  # cast once
    return CompletionModel(fused, config, device, backend, precision)


def _load_onnx_model(source, device: torch.device, precision: str) -> CompletionModel:
    """An .onnx file as it is, or a .safetensors model converted to an fp32 graph in memory.
    `precision` "auto" takes the file's own (int8 for a quantized graph)."""
    from glcic.errors import GlcicError
    from glcic.model_file import load_network
    from glcic.onnx_backend import make_session, onnx_bytes, read_onnx_file

    if source.suffix.lower() == ".onnx":
        graph, config, quantized = read_onnx_file(source)
        if precision == "auto":
            precision = "int8" if quantized else "fp32"
        if quantized != (precision == "int8"):
            raise GlcicError(f"{source} is {'an int8' if quantized else 'an fp32'} ONNX model; use --precision "
                             f"{'int8' if quantized else 'fp32'} with it")
    else:
        if precision == "int8":
            raise GlcicError("int8 needs a quantized .onnx file: glcic export-onnx MODEL -o model.onnx --int8 --calibration-data PHOTOS")
        precision = "fp32"
        network, config = load_network(source)
        graph = onnx_bytes(network, config)
    return CompletionModel(make_session(graph, device, source, 4 + config.noise), config, device, "onnx", precision)
