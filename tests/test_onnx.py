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


def _graph(path, *, input_name="input", in_channels=4, out_channels=3, stride=1, config_text=None):
    """A small ONNX graph with glcic's metadata: one conv (or the identity when out_channels is None)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from glcic.config import ModelConfig
    from glcic.config import CONFIG_KEY

    x = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["b", in_channels, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, None)
    if out_channels is None:
        nodes, initializers = [helper.make_node("Identity", [input_name], ["output"])], []
    else:
        weight = numpy_helper.from_array(np.full((out_channels, in_channels, 3, 3), 0.01, np.float32), "w")
        nodes = [helper.make_node("Conv", [input_name, "w"], ["c"], pads=[1, 1, 1, 1], strides=[stride, stride]),
                 helper.make_node("Sigmoid", ["c"], ["output"])]
        initializers = [weight]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializers), opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key=CONFIG_KEY, value=config_text or ModelConfig(width=0.125).to_json())
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("options, words", [
    ({}, None),  # a graph of the right shape loads
    ({"out_channels": None}, "3, height, width"),  # the identity: 4 channels out
    ({"input_name": "x"}, "'input'"),
    ({"in_channels": 3}, "4, height, width"),
    ({"stride": 2}, "at the input's size"),
    ({"config_text": "{not json"}, "invalid model config"),
    ({"config_text": '{"format_version": 2, "hole_max": 1' + "0" * 400 + "}"}, "invalid model config"),
])
def test_onnx_files_are_checked_at_load(tmp_path, options, words):
    import glcic
    from glcic.errors import ModelFileError

    path = _graph(tmp_path / "m.onnx", **options)
    if words is None:
        assert glcic.load_model(path, backend="onnx").backend == "onnx"
        return
    with pytest.raises(ModelFileError, match=words):
        glcic.load_model(path, backend="onnx")


def test_serve_refuses_a_broken_onnx_file_before_it_listens(tmp_path):
    import subprocess
    import sys

    path = _graph(tmp_path / "identity.onnx", out_channels=None)
    result = subprocess.run([sys.executable, "-m", "glcic", "serve", "--backend", "onnx", "--model", path, "--port", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "serving" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
