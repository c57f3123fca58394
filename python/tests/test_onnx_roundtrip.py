"""ONNX import -> export round trips through qqq-translate.

LLaMA-style decoders generated with the onnx helper API (qqq.testing) are
imported (linear layers and RMSNorms raised to qqq ops) and exported again;
ONNX Runtime must give bit-identical outputs for the original and the
exported model on random inputs."""
import os
import re
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import qqq
from qqq.testing.onnx_models import make_llama_decoder


def translate(*args):
    out = subprocess.run([qqq.tool_path("qqq-translate"), *map(str, args)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def run(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def assert_bit_identical(a_path, b_path, feeds_list):
    for feeds in feeds_list:
        a, b = run(a_path, feeds), run(b_path, feeds)
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and x.shape == y.shape
            assert x.tobytes() == y.tobytes(), f"max |diff| {np.abs(x - y).max()}"


def token_feeds(vocab=128, shapes=((1, 5), (2, 11))):
    rng = np.random.default_rng(42)
    return [{"input_ids": rng.integers(0, vocab, s, dtype=np.int64)} for s in shapes]


def roundtrip(tmp_path, model_path, *import_args, threshold=None):
    mlir = tmp_path / "model.mlir"
    out = tmp_path / "exported.onnx"
    translate("--import-onnx", model_path, "-o", mlir, *import_args)
    extra = [] if threshold is None else [f"--external-data-threshold={threshold}"]
    translate("--export-onnx", mlir, "-o", out, *extra)
    return mlir.read_text(), out


@pytest.mark.parametrize("opset,forms", [
    (23, ("decomposed", "decomposed_recip", "simplified", "rmsnorm")),
    (17, ("simplified", "decomposed_recip", "decomposed")),
])
def test_decoder_roundtrip_is_bit_exact(tmp_path, opset, forms):
    src = tmp_path / "decoder.onnx"
    make_llama_decoder(str(src), layers=2, norm_forms=forms, opset=opset)
    assert (tmp_path / "decoder.onnx.data").exists()
    ir, out = roundtrip(tmp_path, src)

    # Every projection and the LM head became qqq.linear, every norm qqq.rms_norm
    # in the form it came in.
    assert ir.count("qqq.linear") == 2 * 7 + 1
    assert ir.count("= qqq.rms_norm") == 2 * 2 + 1
    for form in forms:
        name = {"decomposed": "decomposed", "decomposed_recip": "decomposed",
                "simplified": "SimplifiedLayerNormalization",
                "rmsnorm": "RMSNormalization"}[form]
        assert f'qqq.onnx_form = "{name}"' in ir
    assert 'layer_name = "layers.0.self_attn.q_proj/MatMul"' in ir
    assert re.search(r'input_name = "layers\.0\.input_layernorm/\w+_out"', ir)

    # Weights went to one external data file next to the model.
    assert (tmp_path / "exported.onnx.data").exists()
    assert os.path.getsize(tmp_path / "exported.onnx") < 64 * 1024
    assert_bit_identical(src, out, token_feeds())

    # Node and initializer names are restored.
    orig = onnx.load(str(src), load_external_data=False)
    back = onnx.load(str(out), load_external_data=False)
    assert {n.name for n in orig.graph.node} == {n.name for n in back.graph.node}
    assert {t.name for t in orig.graph.initializer} >= {
        t.name for t in back.graph.initializer if not t.name.startswith(("layers.", "norm/"))}
    assert [i.name for i in back.graph.input] == ["input_ids"]
    assert [o.name for o in back.graph.output] == ["logits"]
    assert back.graph.input[0].type.tensor_type.shape.dim[1].dim_param == "seq"
    assert [(o.domain, o.version) for o in back.opset_import] == \
        [(o.domain, o.version) for o in orig.opset_import]


def test_exported_model_passes_the_onnx_checker(tmp_path):
    # Standard ops only (SimplifiedLayerNormalization is an ONNX Runtime op
    # the checker does not know).
    src = tmp_path / "decoder.onnx"
    make_llama_decoder(str(src), layers=2, norm_forms=("rmsnorm", "decomposed", "decomposed_recip"))
    onnx.checker.check_model(str(src), full_check=True)
    _, out = roundtrip(tmp_path, src)
    onnx.checker.check_model(str(out), full_check=True)
    assert_bit_identical(src, out, token_feeds())


def test_roundtrip_without_raising_and_inline_weights(tmp_path):
    src = tmp_path / "decoder.onnx"
    make_llama_decoder(str(src), layers=2)
    ir, out = roundtrip(tmp_path, src, "--no-raise", threshold=0)
    assert "qqq.linear" not in ir and "qqq.rms_norm" not in ir
    assert not (tmp_path / "exported.onnx.data").exists()
    assert_bit_identical(src, out, token_feeds())


def test_gemm_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    w1 = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float32), "w1")  # N x K
    c1 = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "c1")
    w2 = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w2")  # K x N
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w1", "c1"], ["h"], name="fc1", transB=1),
         helper.make_node("Relu", ["h"], ["r"], name="relu"),
         helper.make_node("Gemm", ["r", "w2"], ["y"], name="fc2")],
        "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])], [w1, c1, w2])
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    src = tmp_path / "mlp.onnx"
    onnx.save(model, str(src))
    ir, out = roundtrip(tmp_path, src)
    assert ir.count("qqq.linear") == 2 and ir.count("weight_kn") == 1
    onnx.checker.check_model(str(out), full_check=True)
    x = rng.standard_normal((3, 16)).astype(np.float32)
    assert_bit_identical(src, out, [{"x": x}])


def test_layers_made_by_passes_export_to_standard_ops(tmp_path):
    """qqq.linear / qqq.rms_norm without a recorded ONNX form (as passes
    create them) export as MatMul/Add and the decomposed RMSNorm chain; the
    result is checked against a float64 numpy reference."""
    rng = np.random.default_rng(3)
    k, n = 8, 6
    w = rng.standard_normal((n, k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    g = (1 + 0.1 * rng.standard_normal(k)).astype(np.float32)

    def hexblob(a):
        return "0x04000000" + a.tobytes().hex().upper()
    src = tmp_path / "layers.mlir"
    src.write_text(f"""
module attributes {{qqq.onnx_opset_import = [["", 18]], qqq.onnx_ir_version = 8 : i64}} {{
  func.func @main(%x: tensor<?x{k}xf32>) -> tensor<?x{n}xf32> {{
    %g = arith.constant dense_resource<g> : tensor<{k}xf32>
    %w = arith.constant dense_resource<w> : tensor<{n}x{k}xf32>
    %b = arith.constant dense_resource<b> : tensor<{n}xf32>
    %h = qqq.rms_norm %x, %g {{epsilon = 1.0e-06 : f32}} : (tensor<?x{k}xf32>, tensor<{k}xf32>) -> tensor<?x{k}xf32>
    %y = qqq.linear %h, %w, %b {{layer_name = "fc", input_name = "h"}} : (tensor<?x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<?x{n}xf32>
    return %y : tensor<?x{n}xf32>
  }}
}}
{{-#
  dialect_resources: {{ builtin: {{ g: "{hexblob(g)}", w: "{hexblob(w)}", b: "{hexblob(b)}" }} }}
#-}}
""")
    out = tmp_path / "layers.onnx"
    translate("--export-onnx", src, "-o", out)
    onnx.checker.check_model(str(out), full_check=True)
    ops = [nd.op_type for nd in onnx.load(str(out)).graph.node]
    assert ops == ["Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Transpose", "MatMul", "Add"]
    x = rng.standard_normal((5, k)).astype(np.float32)
    (y,) = run(out, {"input_0": x})
    x64 = x.astype(np.float64)
    h = x64 / np.sqrt((x64 * x64).mean(-1, keepdims=True) + 1e-6) * g
    ref = h @ w.astype(np.float64).T + b
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_export_errors_are_clear(tmp_path):
    src = tmp_path / "bad.mlir"
    src.write_text("""
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
""")
    res = subprocess.run([qqq.tool_path("qqq-translate"), "--export-onnx", str(src), "-o",
                          str(tmp_path / "bad.onnx")], capture_output=True, text=True)
    assert res.returncode == 1
    assert "'arith.addf' cannot be exported to ONNX" in res.stderr
    assert not (tmp_path / "bad.onnx").exists()


def test_large_external_weights_import_stays_small(tmp_path):
    """2.2 GB of external weights (a sparse file): the import maps the data
    and never reads it, so peak RSS stays far below the data size."""
    n, k = 24576, 24576  # 1.2 GB of f16 per weight, two weights
    data = tmp_path / "big.onnx.data"
    with open(data, "wb") as f:
        f.truncate(2 * n * k * 2)

    def ext(name, offset):
        t = TensorProto(name=name, data_type=TensorProto.FLOAT16, dims=[k, n])
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "big.onnx.data"), ("offset", str(offset)),
                           ("length", str(n * k * 2))):
            e = t.external_data.add()
            e.key, e.value = key, value
        return t
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w0"], ["h"], name="l0"),
         helper.make_node("MatMul", ["h", "w1"], ["y"], name="l1")],
        "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["m", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["m", n])],
        [ext("w0", 0), ext("w1", n * k * 2)],
        value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT16, ["m", n])])
    src = tmp_path / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(src))
    assert os.path.getsize(data) > 2 * 2**30

    import resource
    import time
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    # --verify-only: printing the module as text would hex-encode (read) the
    # weights; the import itself (what qqq-compile runs in-process) must not.
    out = subprocess.run([qqq.tool_path("qqq-translate"), "--import-onnx", str(src),
                          "--verify-only"], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    assert out.returncode == 0, out.stderr
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib >= before
    print(f"2.2 GB external weights: import {seconds:.2f} s, peak RSS {peak_kib / 1024:.1f} MiB")
    assert peak_kib < 1024 * 1024, f"peak RSS {peak_kib} KiB"
    assert seconds < 10


def test_models_without_value_info_are_typed_by_shape_inference(tmp_path):
    """Exporters often leave value_info out; the importer completes types with
    libonnx's shape inference (opset-18 ReduceMean axes handled, the norms
    libonnx does not know passed through), so every layer is still raised."""
    src = tmp_path / "bare.onnx"
    model = make_llama_decoder(str(src), layers=2, infer_shapes=False)
    assert not [vi for vi in model.graph.value_info if "input_layernorm/Scale" in vi.name]
    ir, out = roundtrip(tmp_path, src)
    assert ir.count("qqq.linear") == 15
    assert ir.count("= qqq.rms_norm") == 5
    assert re.search(r'onnx_node "Softmax".*-> tensor<', ir)  # typed, not none
    assert_bit_identical(src, out, token_feeds())
    bare, _ = roundtrip(tmp_path, src, "--no-shape-inference")
    assert bare.count("qqq.linear") < 15
