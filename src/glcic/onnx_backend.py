"""The ONNX backend: the completion network as an ONNX graph, run by onnxruntime (optional extra `onnx`).

`export_onnx` writes the network with batch norm folded, dynamic batch, height and width, and the
model config in the file's metadata (`glcic.config`), so an .onnx file is a complete model too.
With `int8`, the graph is quantized statically (QDQ, per-channel weights, activations calibrated on
photos: the network's inputs made from them with holes from the model's own training sampler);
ONNX Runtime then runs int8 convolutions, about twice as fast as fp32 on CPUs (see the README).
`load_model(..., backend="onnx")` reads an .onnx file, or converts a .safetensors model in memory.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from glcic.config import ModelConfig
from glcic.errors import GlcicError, ModelFileError

CONFIG_KEY = "glcic.config"
OPSET = 17


def _require():
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise GlcicError("the ONNX backend needs onnx and onnxruntime: pip install 'glcic[onnx]'") from None
    return onnx, onnxruntime


def onnx_bytes(model_path: str | os.PathLike | None) -> tuple[bytes, ModelConfig]:
    """The fp32 ONNX graph (BN folded, dynamic sizes, config in the metadata) of a .safetensors model.
    Each transposed convolution is written as a convolution and a DepthToSpace (`subpixel_upsampling`),
    which int8 quantization covers: with ConvTranspose, ONNX Runtime ran the two up-sampling layers in
    fp32, over half of the int8 network's time."""
    import warnings

    onnx, _ = _require()
    from glcic.model_file import load_network, model_source
    from glcic.models.completion import fuse_batchnorm, subpixel_upsampling

    network, config = load_network(model_source(model_path))
    fused = subpixel_upsampling(fuse_batchnorm(network.eval()))
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(fused, (torch.zeros(1, 4, 64, 64),), buffer, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes}, opset_version=OPSET, dynamo=False)
    graph = onnx.load_from_string(buffer.getvalue())
    entry = graph.metadata_props.add()
    entry.key, entry.value = CONFIG_KEY, config.to_json()
    return graph.SerializeToString(), config


def calibration_inputs(config: ModelConfig, photos: list[np.ndarray], count: int = 16, size: int = 256, seed: int = 0) -> list[np.ndarray]:
    """(1, 4, size, size) network inputs from photos, with holes of the model's training sampler."""
    from glcic.image_io import resize_short_side
    from glcic.masks import make_hole_sampler

    rng = np.random.default_rng(seed)
    sampler = make_hole_sampler(config.hole_sampler, hole_min=config.hole_min, hole_max=config.hole_max)
    inputs = []
    for index in range(count):
        photo = resize_short_side(photos[index % len(photos)], int(rng.integers(size, 2 * size)))
        top, left = (int(rng.integers(0, photo.shape[i] - size + 1)) for i in (0, 1))
        rgb = photo[top : top + size, left : left + size].astype(np.float32) / 255
        hole = sampler(size, size, rng)
        filled = np.where(hole[:, :, None], np.asarray(config.mean_pixel, np.float32), rgb)
        inputs.append(np.concatenate([filled, hole[:, :, None].astype(np.float32)], axis=2).transpose(2, 0, 1)[None])
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


def export_onnx(model_path, output: str | os.PathLike, int8: bool = False, photos: list[np.ndarray] | None = None) -> ModelConfig:
    """Write MODEL as an .onnx file (fp32, or int8 calibrated on `photos`)."""
    from glcic.utils import write_atomic

    graph, config = onnx_bytes(model_path)
    if int8:
        if not photos:
            raise GlcicError("int8 quantization needs calibration photos (--calibration-data DIR)")
        graph = quantize_int8(graph, calibration_inputs(config, photos))
    write_atomic(output, graph)
    return config


def load_onnx(source: Path, device: torch.device, precision: str):
    """An onnxruntime session, the model config and the precision, from an .onnx file or a
    .safetensors model. `precision` "auto" takes the file's own (int8 for a quantized graph)."""
    onnx, onnxruntime = _require()
    if source.suffix.lower() == ".onnx":
        if not source.is_file():
            raise ModelFileError(f"model file not found: {source}")
        try:
            graph = onnx.load(str(source))
        except Exception as error:  # noqa: BLE001
            raise ModelFileError(f"{source} is not an ONNX model ({error})") from None
        metadata = {p.key: p.value for p in graph.metadata_props}
        if CONFIG_KEY not in metadata:
            raise ModelFileError(f"{source} is an ONNX file but not a glcic model (no {CONFIG_KEY!r} metadata)")
        try:
            config = ModelConfig.from_json(metadata[CONFIG_KEY])
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"{source} has an invalid model config: {error}") from None
        quantized = any(node.op_type == "QuantizeLinear" for node in graph.graph.node)
        if precision == "auto":
            precision = "int8" if quantized else "fp32"
        if quantized != (precision == "int8"):
            raise GlcicError(f"{source} is {'an int8' if quantized else 'an fp32'} ONNX model; use --precision "
                             f"{'int8' if quantized else 'fp32'} with it")
        data = graph.SerializeToString()
    else:
        if precision == "int8":
            raise GlcicError("int8 needs a quantized .onnx file: glcic export-onnx MODEL -o model.onnx --int8 --calibration-data PHOTOS")
        precision = "fp32" if precision == "auto" else precision
        data, config = onnx_bytes(source)
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    try:
        session = onnxruntime.InferenceSession(data, options, providers=providers)
    except Exception as error:  # noqa: BLE001 - onnxruntime refuses broken graphs in many ways
        raise ModelFileError(f"{source} is not a graph ONNX Runtime can run ({type(error).__name__})") from None
    _check_session(session, source)
    return session, config, precision


PROBE_SIDE = 32  # px: the side of the probe a loaded graph must complete like a completion network


def _check_session(session, source: Path) -> None:
    """A graph is a completion network only if it takes `input` with 4 channels and gives one output
    with 3 channels at the same height and width, finite, in [0, 1]: checked on a probe at load, so
    that `glcic serve` refuses such a file before it listens."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if [i.name for i in inputs] != ["input"] or len(outputs) != 1:
        raise ModelFileError(f"{source}: a glcic graph has one input called 'input' and one output, this one has inputs "
                             f"{[i.name for i in inputs]} and {len(outputs)} output(s)")
    if len(inputs[0].shape) != 4 or inputs[0].shape[1] != 4:
        raise ModelFileError(f"{source}: the input must be (batch, 4, height, width) (RGB and the mask), got {inputs[0].shape}")
    probe = np.full((1, 4, PROBE_SIDE, PROBE_SIDE), 0.5, np.float32)
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
