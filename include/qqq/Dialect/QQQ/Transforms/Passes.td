//===- Passes.td - qqq transformation passes ---------------*- tablegen -*-===//
#ifndef QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD
#define QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

// One def per pass; the implementation lives in lib/Dialect/QQQ/Transforms/<Name>.cpp
// and derives from the tablegen'd impl::<Name>PassBase.

def QQQSmoothPass : Pass<"qqq-smooth", "mlir::ModuleOp"> {
  let summary = "Outlier-Suppression+ / SmoothQuant channel smoothing folded into the producers";
  let description = [{
    For every activation read only by `qqq.linear` layers, picks one scale
    per input channel `s_j`, rewrites `W ← W · diag(s)` for each reader and
    folds `1/s` into the producer, so the float model is unchanged while the
    activations the quantizer sees shrink their outliers. Producers: a
    `qqq.rms_norm` (`γ ← γ / s`: q/k/v, gate/up); an ONNX `Mul` of a
    single-use linear (its rows: up_proj for down_proj); the attention
    output (o_proj's input) through the rows of the v_proj (layer name
    containing `v-proj`) whose values reach it — only when v_proj's rows map
    one to one onto o_proj's channels (kv-heads == heads); under
    grouped-query attention o_proj is skipped with the reason.

    - `mode=osplus` (default): `s_j = max(1, max_j / t, min_j / (-t))`, with the
      threshold `t` searched on a grid of `grid` points between the largest
      channel extreme and 1/`grid` of it, minimising the summed squared error of
      the W4A8 (per-token int8 × per-channel int4 RTN) outputs of all readers
      on the calibration sample rows.
    - `mode=smoothquant`: `s_j = max|x_j|^α / max|W_j|^(1−α)` (`alpha=`).

    An activation with a non-linear reader, another producer, or without
    calibration statistics, is skipped with a message naming it. The calibration statistics of the
    smoothed activation are updated in memory (x → x/s) for the passes that
    follow in the same pipeline (see docs/passes.md).
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "calibration statistics (safetensors, python -m qqq.calibrate)">,
    Option<"mode", "mode", "std::string", "\"osplus\"",
           "osplus (threshold search) or smoothquant">,
    Option<"alpha", "alpha", "double", "0.5", "SmoothQuant migration strength">,
    Option<"grid", "grid", "int", "20", "threshold grid points (osplus)">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "weight group size of the search's error model (0: per channel)">,
    Option<"vProj", "v-proj", "std::string", "\"v_proj\"",
           "substring of the v_proj layer names (o_proj's scales go into "
           "their rows; empty: o_proj is never smoothed)">,
    Option<"report", "report", "std::string", "\"\"",
           "write per-activation results to this JSON file">,
  ];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect"];
}

def QQQRotatePass : Pass<"qqq-rotate", "mlir::ModuleOp"> {
  let summary = "QuaRot-style randomized Hadamard rotation folded into the weights";
  let description = [{
    Rotates the residual stream of a LLaMA-family decoder by an orthogonal
    randomized Hadamard matrix Q of the hidden size (numerics library:
    Sylvester × Paley or Goethals–Seidel constructions, random signs from `seed`): the embedding
    table `E ← E·Q`, every residual writer (o_proj, down_proj) `W ← Qᵀ·W`,
    `b ← b·Q`; each `qqq.rms_norm`'s γ is folded into the columns of its
    linear readers (q/k/v, gate/up, lm_head), which become `diag(γ)W·Q`, and
    γ becomes 1 (RMSNorm commutes with Q without γ). With `head-dim=d > 0`
    a per-head Hadamard Hd of size d is also applied between each v_proj
    (`layer_name` containing `v-proj`) and the o_proj its output reaches:
    v rows per head `Hdᵀ·W_v`, o columns `W_o·blockdiag(Hd)` — exact under
    GQA as well. The float model computes the same function.

    The pass first proves the structure that makes folding exact (the stream
    is read only by rms_norm and residual Adds of linear outputs, each norm
    only by linear layers, v_proj's output reaches only ONNX nodes and one
    o_proj) and otherwise fails with an error naming the op. With
    `calibration=`, the in-memory statistics of the rotated activations are
    transformed for the passes that follow (x → (x/γ)·Q, o_proj's input
    x → x·blockdiag(Hd)).
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "calibration statistics to transform (safetensors)">,
    Option<"seed", "seed", "uint64_t", "0", "seed of the random signs">,
    Option<"headDim", "head-dim", "int64_t", "0",
           "attention head size for the per-head v/o rotation (0: none)">,
    Option<"vProj", "v-proj", "std::string", "\"v_proj\"",
           "substring of the v_proj layer names (per-head rotation)">,
    Option<"report", "report", "std::string", "\"\"",
           "write the rotated layers to this JSON file">,
  ];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect"];
}

def QQQGPTQPass : Pass<"qqq-gptq", "mlir::ModuleOp"> {
  let summary = "quantize qqq.linear weights to int4 (GPTQ or RTN) and make them W4A8";
  let description = [{
    Every `qqq.linear` whose `layer_name` does not match `skip` becomes a
    per-token int8 activation quantizer (`qqq.quantize_act`, shared by the
    readers of one activation) feeding a `qqq.w4a8_linear` with row-major
    packed int4 weights, f32 channel scales, optionally f16 group scales (the
    two-level scheme: `s_ch = max|Ŵ|/127`, `s_grp = s_g/s_ch`), an f16 bias and
    a `#qqq.scheme` recording the choices.

    `method=gptq` runs GPTQ with the Hessian `H = 2/n Σ x xᵀ` of the layer's
    input from the calibration file (damping `damp` × mean diag(H), blocks of
    128 columns, optional act-order with static groups, optional MSE clipping
    of the scales). `method=rtn` rounds to nearest (no calibration needed).
    Per-layer progress goes to stderr; error statistics (weight and
    Hessian-weighted output error) go to `report`.

    The first position of every window is the attention sink of LLaMA-family
    models: most queries attend to it, so errors in its keys and values
    reach every later token, yet it is one row in L of Σ x xᵀ. `sink-weight`
    gives those rows (the calibration file's `first` rows) that share of the
    Hessian: H = Σ x xᵀ + w·(n / windows)·Σ x₀x₀ᵀ, for the layers that
    `sink-layers` matches (q/k/v: the keys and values the sink's attention
    weight multiplies; on SmolLM2-135M per-channel W4A8 this took the
    2-window perplexity from 46.7 to 29.5, and weighting every layer gave
    32.8). Files without first-token rows get the plain Hessian and a
    warning.
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "calibration statistics (safetensors); required for method=gptq">,
    Option<"method", "method", "std::string", "\"gptq\"", "gptq or rtn">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "weight group size along K (0: per output channel)">,
    Option<"actOrder", "act-order", "bool", "false",
           "GPTQ columns in decreasing diag(H) order (static groups)">,
    Option<"mseClip", "mse-clip", "bool", "false",
           "search a clipped scale per row/group minimising Σ|q(w)−w|^2.4">,
    Option<"damp", "damp", "double", "0.01", "Hessian damping, fraction of mean diag">,
    Option<"sinkWeight", "sink-weight", "double", "0.5",
           "share of the windows' first tokens (the attention sink) in H, "
           "from the calibration's first-token rows (0: plain Σ x xᵀ)">,
    Option<"sinkLayers", "sink-layers", "std::string", "\"[qkv]_proj$\"",
           "regex of the layers whose Hessian gets sink-weight (default: "
           "the attention projections q/k/v)">,
    Option<"blockSize", "block-size", "int64_t", "128", "GPTQ lazy-update block">,
    Option<"skip", "skip", "std::string", "\"lm_head\"",
           "regex of layer names kept in floating point (empty: none)">,
    Option<"preprocess", "preprocess", "std::string", "\"none\"",
           "recorded in #qqq.scheme: none, smooth, smoothquant or rotate">,
    Option<"report", "report", "std::string", "\"\"",
           "write per-layer error statistics to this JSON file">,
  ];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect"];
}

def QQQQuantizeActPass : Pass<"qqq-quantize-act", "mlir::ModuleOp"> {
  let summary = "place the int8 activation quantizers: one per activation, fused with RMSNorm";
  let description = [{
    Merges the `qqq.quantize_act` ops of one activation into one and, where the
    activation is a `qqq.rms_norm` whose result has no other reader, fuses the
    pair into `qqq.rms_norm_quantize` (the normalized row is never written out).
  }];
  let dependentDialects = ["::qqq::QQQDialect"];
}

def QQQPackPass : Pass<"qqq-pack", "mlir::ModuleOp"> {
  let summary = "re-pack int4 weights of qqq.w4a8_linear into a kernel layout";
  let description = [{
    Rewrites the packed weight constant of every `qqq.w4a8_linear` from its
    current `#qqq.layout` into `layout` with the numerics library's packing
    and updates the attribute. `auto` picks `sm90_interleaved` when this
    build has the kernel layouts, else keeps `row_major`; an explicit layout
    that is not available is an error naming the layer.
  }];
  let options = [
    Option<"layout", "layout", "std::string", "\"auto\"",
           "auto (sm90_interleaved when this build has it, else row_major) | "
           "row_major | sm90_interleaved | sm80_interleaved">,
  ];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect"];
}

def QQQFuseProjectionsPass : Pass<"qqq-fuse-projections", "mlir::ModuleOp"> {
  let summary = "one W4A8 GEMM for the layers that read the same activations (q/k/v, gate/up)";
  let description = [{
    Replaces the `qqq.w4a8_linear` ops that read the same int8 activations
    and token scales, in one block, by one op whose weight, channel scales,
    group scales and bias are theirs concatenated along N (in module order),
    and each original result by a `tensor.extract_slice` of its columns.
    Every output column is computed as before, so results are bit-identical;
    one launch streams all the weights (a LLaMA layer's q, k and v become one
    GEMM, gate and up another), as vLLM's fused projections do.

    Layers are fused only with layers of the same layout, K, group size,
    scheme, result element type and bias presence; the packed weights are
    unpacked, concatenated and packed again in their layout by the numerics
    library. The fused op lists the layers in `parts` / `part_sizes` and is
    named by their common prefix and the rest of each name joined with `+`
    (`layers.0.self_attn.q_proj+k_proj+v_proj`). Run it before
    `qqq-select-kernels`: a layer that already has `kernels` is an error.
  }];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def QQQQuantizePipelinePass : Pass<"qqq-quantize-pipeline", "mlir::ModuleOp"> {
  let summary = "smooth/rotate → GPTQ/RTN → activation quantizers → pack";
  let description = [{
    The whole quantization flow in one pass, loading the calibration file
    once: `preprocess` (none | smooth = qqq-smooth mode=osplus | smoothquant), then
    `qqq-gptq` with `method`, `group-size`, `act-order`, `mse-clip`, `damp`,
    `skip`, then `qqq-quantize-act`, then `qqq-pack`. Each stage prints its
    progress to stderr; `report` collects every stage's per-layer statistics
    and times in one JSON file (written atomically).
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "calibration statistics (safetensors)">,
    Option<"preprocess", "preprocess", "std::string", "\"none\"",
           "none | smooth | smoothquant | rotate">,
    Option<"method", "method", "std::string", "\"gptq\"", "gptq or rtn">,
    Option<"groupSize", "group-size", "int64_t", "0",
           "weight group size (0: per channel)">,
    Option<"actOrder", "act-order", "bool", "false", "GPTQ act-order">,
    Option<"mseClip", "mse-clip", "bool", "false", "MSE scale clipping">,
    Option<"damp", "damp", "double", "0.01", "GPTQ damping">,
    Option<"sinkWeight", "sink-weight", "double", "0.5",
           "GPTQ: share of the windows' first tokens in H (0: none)">,
    Option<"sinkLayers", "sink-layers", "std::string", "\"[qkv]_proj$\"",
           "GPTQ: regex of the layers that get sink-weight">,
    Option<"skip", "skip", "std::string", "\"lm_head\"",
           "regex of layer names kept in floating point">,
    Option<"headDim", "head-dim", "int64_t", "-1",
           "rotate: head size of the per-head v/o rotation (0: none; -1: from "
           "the model's qqq.config metadata when present)">,
    Option<"rotateSeed", "rotate-seed", "uint64_t", "0",
           "rotate: seed of the random Hadamard signs">,
    Option<"alpha", "alpha", "double", "0.5", "SmoothQuant α">,
    Option<"layout", "layout", "std::string", "\"auto\"",
           "weight layout for qqq-pack (auto, row_major, sm90_interleaved, ...)">,
    Option<"report", "report", "std::string", "\"\"",
           "JSON report of all stages">,
  ];
  let dependentDialects = ["::qqq::QQQDialect", "::mlir::arith::ArithDialect"];
}

def QQQSelectKernelsPass : Pass<"qqq-select-kernels", "mlir::ModuleOp"> {
  let summary = "choose a GEMM kernel configuration per M bucket for each qqq.w4a8_linear";
  let description = [{
    Attaches `kernels = [#qqq.kernel<...>, ...]` to every `qqq.w4a8_linear`:
    one configuration per M bucket (`buckets`, default the catalog's
    16, 32, 64, 128, 256, 512, 1024 and 0 = unbounded, in increasing order, 0
    last). Each comes from the tuning table (`tuning-dir`/*.json, the table
    whose `gpu` equals `gpu`) when it has an entry for (arch, N, K, group,
    bucket), else from the documented heuristic of the kernel catalog
    (`defaultConfig`, docs/codegen.md). A layer whose shape no kernel of
    `arch` supports is an error naming the layer and the reason. Existing
    `kernels` attributes are replaced.
  }];
  let options = [
    Option<"arch", "arch", "std::string", "\"sm_90a\"", "GPU target: sm_90a or sm_80">,
    Option<"gpu", "gpu", "std::string", "\"\"",
           "GPU name of the tuning table to use (cuDeviceGetName, e.g. "
           "'NVIDIA H100 80GB HBM3'); empty: heuristic only">,
    Option<"tuningDir", "tuning-dir", "std::string", "\"\"",
           "directory of tuning tables (default: the source tree's tuning/)">,
    ListOption<"buckets", "buckets", "int64_t",
               "M buckets (max_m values, increasing, 0 = unbounded last)">,
  ];
  let dependentDialects = ["::qqq::QQQDialect"];
}

#endif // QQQ_DIALECT_QQQ_TRANSFORMS_PASSES_TD
