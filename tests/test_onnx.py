"""The ONNX backend: the same completions as torch in fp32, int8 close to them, config carried in the file."""

import subprocess
import sys

import numpy as np
import pytest

import glcic
from glcic.errors import GlcicError

from conftest import box_mask, scene

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


@pytest.fixture(scope="module")
def photo_and_hole():
    from glcic.image_io import center_square, read_photo

    photo = center_square(read_photo("examples/images/coffee.jpg"), 256)
    return photo, box_mask(256, 256, (60, 80, 50, 60), (180, 20, 12, 90))


def test_fp32_onnx_matches_torch(photo_and_hole):
    photo, hole = photo_and_hole
    torch_result = glcic.complete(glcic.load_model(), photo, hole, postprocess=False).astype(int)
    onnx_model = glcic.load_model(backend="onnx")
    assert onnx_model.backend == "onnx" and onnx_model.precision == "fp32"
    onnx_result = glcic.complete(onnx_model, photo, hole, postprocess=False).astype(int)
    assert np.abs(onnx_result - torch_result).max() <= 1  # rounding of values within 1e-5
    np.testing.assert_array_equal(onnx_result[~hole], photo[~hole])


def test_int8_export_keeps_the_config_and_stays_close_to_fp32(tmp_path, photo_and_hole):
    from glcic.image_io import write_image

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(4):
        write_image(photos / f"{index}.png", scene(300, 400, seed=index))
    output = tmp_path / "model-int8.onnx"
    result = subprocess.run([sys.executable, "-m", "glcic", "export-onnx", "-o", output, "--int8", "--calibration-data", photos],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    model = glcic.load_model(output, backend="onnx", precision="int8")
    assert model.config == glcic.load_model().config
    photo, hole = photo_and_hole
    reference = glcic.complete(glcic.load_model(), photo, hole, postprocess=False).astype(float)
    quantized = glcic.complete(model, photo, hole, postprocess=False).astype(float)
    assert 0 < np.abs(quantized - reference)[hole].mean() < 4  # grey levels: close, and really quantized
    import onnx

    nodes = onnx.load(str(output)).graph.node
    assert not any(node.op_type == "ConvTranspose" for node in nodes)  # up-sampling as Conv + DepthToSpace
    quantized_inputs = {node.output[0] for node in nodes if node.op_type == "DequantizeLinear"}
    convs = [node for node in nodes if node.op_type == "Conv"]
    assert convs and all(node.input[0] in quantized_inputs and node.input[1] in quantized_inputs for node in convs)
    with pytest.raises(GlcicError, match="an int8 ONNX model"):
        glcic.load_model(output, backend="onnx", precision="fp32")
    assert glcic.load_model(output, backend="onnx", precision="auto").precision == "int8"  # the file's own
    assert glcic.load_model(backend="onnx", precision="auto").precision == "fp32"


def test_int8_needs_a_quantized_file():
    with pytest.raises(GlcicError, match="int8 needs a quantized .onnx file"):
        glcic.load_model(backend="onnx", precision="int8")
