"""The ONNX backend: the completion network as an ONNX graph, run by onnxruntime (optional extra `onnx`).

`export_onnx` writes the network with batch norm folded, dynamic batch, height and width, and the
model config in the file's metadata (`glcic.config`), so an .onnx file is a complete model too.
With `int8`, the graph is quantized statically (QDQ, per-channel weights, activations calibrated on
photos: the network's inputs made from them with holes from the model's own training sampler);
ONNX Runtime then runs int8 convolutions (how much faster than fp32 depends on the CPU kind:
docs/benchmarks.md). `glcic.inference.model.load_model(..., backend="onnx")` reads an .onnx file,
or converts a .safetensors model in memory, through `read_onnx_file`, `onnx_bytes` and `make_session`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from glcic.config import CONFIG_KEY, ModelConfig
from glcic.errors import GlcicError, ModelFileError

OPSET = 17
CALIBRATION_PHOTOS = 16  # photos of --calibration-data used for int8, at this short side:
CALIBRATION_SHORT_SIDE = 512


def _require():
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise GlcicError("the ONNX backend needs onnx and onnxruntime: pip install 'glcic[onnx]'") from None
    return onnx, onnxruntime


def onnx_bytes(network: torch.nn.Module, config: ModelConfig) -> bytes:
    """The fp32 ONNX graph (BN folded, dynamic sizes, `config` in the metadata) of a completion network.
    Each transposed convolution is written as a convolution and a DepthToSpace (`subpixel_upsampling`),
    which int8 quantization covers: with ConvTranspose, ONNX Runtime ran the two up-sampling layers in
    fp32, over half of the int8 network's time."""
    import warnings

    onnx, _ = _require()
    from glcic.models.completion import fuse_batchnorm, subpixel_upsampling

    fused = subpixel_upsampling(fuse_batchnorm(network.eval()))
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(fused, (torch.zeros(1, 4 + config.noise, 64, 64),), buffer, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes}, opset_version=OPSET, dynamo=False)
    graph = onnx.load_from_string(buffer.getvalue())
    entry = graph.metadata_props.add()
    entry.key, entry.value = CONFIG_KEY, config.to_json()
    return graph.SerializeToString()


def calibration_photos(folder: str | os.PathLike) -> list[np.ndarray]:
    """The int8 calibration photos: the first CALIBRATION_PHOTOS images of `folder` (sorted,
    searched recursively), at a short side of CALIBRATION_SHORT_SIDE."""
    from glcic.image_io import list_images, read_photo

    if folder is None or not Path(folder).is_dir():
        raise GlcicError("--int8 needs --calibration-data DIR, a folder of photos")
    paths = list_images(folder, recursive=True)[:CALIBRATION_PHOTOS]
    if not paths:
        raise GlcicError(f"no photos in {folder} to calibrate int8 on")
    return [read_photo(path, CALIBRATION_SHORT_SIDE) for path in paths]


def calibration_inputs(config: ModelConfig, photos: list[np.ndarray], count: int = 16, size: int = 256, seed: int = 0) -> list[np.ndarray]:
    """(1, 4 + noise layers, size, size) network inputs from photos, with holes of the model's training sampler."""
    from glcic.image_io import resize_short_side
    from glcic.masks import make_hole_sampler
    from glcic.models.completion import network_input

    rng = np.random.default_rng(seed)
    mean = torch.tensor(config.mean_pixel).view(1, 3, 1, 1)
    sampler = make_hole_sampler(config.hole_sampler, hole_min=config.hole_min, hole_max=config.hole_max)
    inputs = []
    for index in range(count):
        photo = resize_short_side(photos[index % len(photos)], int(rng.integers(size, 2 * size)))
        top, left = (int(rng.integers(0, photo.shape[i] - size + 1)) for i in (0, 1))
        rgb = torch.from_numpy(photo[top : top + size, left : left + size].astype(np.float32) / 255).permute(2, 0, 1)[None]
        hole = torch.from_numpy(sampler(size, size, rng).astype(np.float32))[None, None]
        noise = torch.from_numpy(np.stack([rng.standard_normal((size, size), dtype=np.float32) for _ in range(config.noise)]))[None] if config.noise else None
        inputs.append(network_input(rgb, hole, mean, noise).numpy())
    return inputs


def quantize_int8(graph: bytes, inputs: list[np.ndarray]) -> bytes:
    """Static QDQ quantization: per-channel int8 weights, int8 activations calibrated on `inputs`."""
    import tempfile

    _require()
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(inputs)

        def get_next(self):
            item = next(self.items, None)
            return None if item is None else {"input": item}

    import logging

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(graph)
        logging.disable(logging.WARNING)  # onnxruntime's advice on the root logger, printed before our own messages
        try:
            quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        return target.read_bytes()


def export_onnx(network: torch.nn.Module, config: ModelConfig, output: str | os.PathLike, int8: bool = False,
                photos: list[np.ndarray] | None = None) -> None:
    """Write a completion network and its config as an .onnx file (fp32, or int8 calibrated on `photos`)."""
    from glcic.utils import write_atomic

    graph = onnx_bytes(network, config)
    if int8:
        if not photos:
            raise GlcicError("int8 quantization needs calibration photos (--calibration-data DIR)")
        graph = quantize_int8(graph, calibration_inputs(config, photos))
    write_atomic(output, graph)


def read_onnx_file(source: Path) -> tuple[bytes, ModelConfig, bool]:
    """An .onnx file's graph, its model config (checked) and whether it is quantized (int8)."""
    onnx, _ = _require()
    if not source.is_file():
        raise ModelFileError(f"model file not found: {source}")
    try:
        graph = onnx.load(str(source))
    except Exception as error:  # noqa: BLE001
        raise ModelFileError(f"{source} is not an ONNX model ({error})") from None
    config = ModelConfig.from_metadata({p.key: p.value for p in graph.metadata_props}, source, "ONNX")
    quantized = any(node.op_type == "QuantizeLinear" for node in graph.graph.node)
    return graph.SerializeToString(), config, quantized


def make_session(graph: bytes, device: torch.device, source: Path, channels: int = 4):
    """An onnxruntime session of `graph` on `device`, checked to be a completion network taking
    `channels` input channels (4, plus one per noise layer; `_check_session`)."""
    _, onnxruntime = _require()
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    try:
        session = onnxruntime.InferenceSession(graph, options, providers=providers)
    except Exception as error:  # noqa: BLE001 - onnxruntime refuses broken graphs in many ways
        raise ModelFileError(f"{source} is not a graph ONNX Runtime can run ({type(error).__name__})") from None
    _check_session(session, source, channels)
    return session


PROBE_SIDE = 32  # px: the side of the probe a loaded graph must complete like a completion network


def _check_session(session, source: Path, channels: int = 4) -> None:
    """A graph is a completion network only if it takes `input` with `channels` channels and gives one output
    with 3 channels at the same height and width, finite, in [0, 1]: checked on a probe at load, so
    that `glcic serve` refuses such a file before it listens."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["input"] or len(outputs) != 1:
        raise ModelFileError(f"{source}: a glcic graph has one input called 'input' and one output, this one has inputs "
                             f"{[i.name for i in inputs]} and {len(outputs)} output(s)")
    if len(inputs[0].shape) != 4 or inputs[0].shape[1] != channels:
        raise ModelFileError(f"{source}: the input must be (batch, {channels}, height, width) (RGB, the mask"
                             f"{', the noise maps' if channels > 4 else ''}), got {inputs[0].shape}")
    probe = np.full((1, channels, PROBE_SIDE, PROBE_SIDE), 0.5, np.float32)
    probe[:, 3] = 0
    probe[:, 3, 8:24, 8:24] = 1
    try:
        output = np.asarray(session.run(None, {"input": probe})[0])
    except Exception as error:  # noqa: BLE001
        raise ModelFileError(f"{source}: the graph fails on a {PROBE_SIDE} px probe ({type(error).__name__})") from None
    if output.shape != (1, 3, PROBE_SIDE, PROBE_SIDE):
        raise ModelFileError(f"{source}: the graph must give (batch, 3, height, width) at the input's size; on a "
                             f"{PROBE_SIDE} px probe it gave {output.shape}")
    if not np.isfinite(output).all():
        raise ModelFileError(f"{source}: the graph computes NaN or infinite values: its weights are broken")


def run_session(session, batch: np.ndarray) -> np.ndarray:
    return session.run(None, {"input": np.ascontiguousarray(batch, dtype=np.float32)})[0]
