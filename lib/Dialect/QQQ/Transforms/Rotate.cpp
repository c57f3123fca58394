//===- Rotate.cpp - qqq-rotate: randomized Hadamard rotations folded away --===//
//
// QuaRot-style offline rotation of a LLaMA-family decoder. With Q an
// orthogonal randomized Hadamard matrix of the hidden size H:
//   - the residual stream h becomes h·Q: the embedding table E ← E·Q, every
//     linear writing into the stream (o_proj, down_proj) W ← Qᵀ·W, b ← b·Q;
//   - RMSNorm commutes with Q once γ is moved out of it (‖h·Q‖ = ‖h‖), so
//     each norm's γ is folded into the columns of its linear readers and set
//     to 1, and each reader W ← diag(γ)-scaled W · Q;
//   - optionally (head-dim > 0) a per-head Hadamard Hd between v_proj and
//     o_proj: attention is linear in V per head, so v_proj rows of every
//     head ← Hdᵀ·W_v and o_proj columns ← W_o·blockdiag(Hd) (exact under GQA
//     too: every query head of a kv head sees the same Hd).
// The model computes the same function; outliers are spread over channels.
// Folding is exact only for that structure, so the pass first proves it
// (the stream is read only by rms_norm and residual Adds, each norm only by
// linears, v_proj's output reaches no graph output) and refuses otherwise,
// naming the op. The calibration statistics of the rotated activations are
// transformed in memory (x → (x/γ)·Q; o_proj's input x → x·blockdiag(Hd)).
//
//===----------------------------------------------------------------------===//
#include "AttentionPaths.h"
#include "QuantizeSteps.h"
#include "Report.h"
#include "WeightConstants.h"

#include "qqq/Calibration/CalibrationStats.h"
#include "qqq/Dialect/QQQ/IR/QQQOps.h"
#include "qqq/Dialect/QQQ/Transforms/Passes.h"
#include "qqq/Numerics/Hadamard.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/raw_ostream.h"

namespace qqq {
#define GEN_PASS_DEF_QQQROTATEPASS
#include "qqq/Dialect/QQQ/Transforms/Passes.h.inc"
} // namespace qqq

using namespace mlir;
using namespace qqq;
using numerics::Matrix;
using numerics::RandomizedHadamard;

namespace {

/// What the rotation touches, found and checked before anything changes.
struct DecoderStructure {
  int64_t hidden = 0;
  OnnxNodeOp embedding;                  // Gather(E [V, H], ids)
  SmallVector<RMSNormOp> norms;          // each read only by linears
  SmallVector<LinearOp> writers;         // outputs added into the stream
  SmallVector<std::pair<LinearOp, LinearOp>> headPairs; // (v_proj, o_proj)
};

bool isOnnx(Operation *op, StringRef type) {
  auto node = dyn_cast_or_null<OnnxNodeOp>(op);
  return node && node.getDomain().empty() && node.getOpType() == type;
}

int64_t lastDim(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getRank() > 0 ? t.getDimSize(t.getRank() - 1)
                              : ShapedType::kDynamic;
}

/// Walks the residual stream from the embedding and proves that rotating
/// it is exact. Fails with an error naming the op that breaks the pattern.
LogicalResult findStructure(ModuleOp module, DecoderStructure &s) {
  SmallVector<RMSNormOp> allNorms;
  module.walk([&](RMSNormOp n) { allNorms.push_back(n); });
  if (allNorms.empty())
    return module.emitError("qqq-rotate: no qqq.rms_norm in the module; "
                            "nothing defines the residual stream");
  s.hidden = lastDim(allNorms.front().getInput());
  for (RMSNormOp n : allNorms)
    if (lastDim(n.getInput()) != s.hidden || ShapedType::isDynamic(s.hidden))
      return n.emitError("qqq-rotate: rms_norm width differs from the "
                         "hidden size ")
             << s.hidden;

  module.walk([&](OnnxNodeOp node) {
    if (!s.embedding && isOnnx(node, "Gather") && node.getInputs().size() == 2 &&
        node.getNumResults() == 1 && lastDim(node.getResult(0)) == s.hidden &&
        succeeded(readFloatConstant(node.getInputs()[0])))
      s.embedding = node;
  });
  if (!s.embedding)
    return module.emitError("qqq-rotate: no embedding Gather of a constant "
                            "[vocab, ")
           << s.hidden << "] table starts the residual stream";

  // Forward walk over the stream values.
  llvm::SetVector<Value> stream;
  llvm::DenseSet<Operation *> normSet;
  stream.insert(s.embedding.getResult(0));
  for (size_t i = 0; i < stream.size(); ++i) {
    Value v = stream[i];
    for (Operation *user : v.getUsers()) {
      if (auto norm = dyn_cast<RMSNormOp>(user)) {
        if (norm.getInput() != v)
          return norm.emitError("qqq-rotate: the residual stream is this "
                                "norm's γ");
        normSet.insert(norm);
        continue;
      }
      if (isOnnx(user, "Add") && user->getNumOperands() == 2) {
        Value other = user->getOperand(0) == v ? user->getOperand(1)
                                               : user->getOperand(0);
        if (!stream.contains(other)) {
          auto writer = other.getDefiningOp<LinearOp>();
          if (!writer || !other.hasOneUse() ||
              writer.getOutFeatures() != s.hidden)
            return user->emitError("qqq-rotate: residual Add '")
                   << cast<OnnxNodeOp>(user).getNodeName()
                   << "' adds a value that is neither the stream nor a "
                      "linear layer's output";
          s.writers.push_back(writer);
        }
        stream.insert(user->getResult(0));
        continue;
      }
      return user->emitError("qqq-rotate: the residual stream is read by '")
             << user->getName() << "', which does not commute with the "
             << "rotation";
    }
  }
  for (RMSNormOp norm : allNorms) {
    if (!normSet.contains(norm))
      return norm.emitError("qqq-rotate: rms_norm does not read the residual "
                            "stream");
    if (failed(readFloatConstant(norm.getGamma())))
      return norm.emitError("qqq-rotate: rms_norm γ is not a constant");
    for (Operation *user : norm.getResult().getUsers())
      if (!isa<LinearOp>(user))
        return user->emitError("qqq-rotate: a rotated norm output is read by '")
               << user->getName() << "', not a linear layer";
    s.norms.push_back(norm);
  }
  return success();
}


/// Qᵀ·W for an N×K weight with N = Q's size: rotates its columns.
void rotateOutputs(Matrix<float> &w, const RandomizedHadamard &q) {
  std::vector<float> col(w.rows);
  for (int64_t k = 0; k < w.cols; ++k) {
    for (int64_t n = 0; n < w.rows; ++n)
      col[n] = w.at(n, k);
    q.applyRight(col.data()); // (Qᵀ·w_k)ᵀ = w_kᵀ·Q
    for (int64_t n = 0; n < w.rows; ++n)
      w.at(n, k) = col[n];
  }
}

std::vector<double> denseOf(const RandomizedHadamard &q) {
  Matrix<double> d = q.dense();
  return d.data;
}

/// blockdiag(Hd, ..., Hd) of size k (k a multiple of Hd's size), dense.
std::vector<double> blockDiagonal(const RandomizedHadamard &hd, int64_t k) {
  Matrix<double> d = hd.dense();
  int64_t h = hd.size();
  std::vector<double> out(k * k, 0.0);
  for (int64_t b = 0; b < k / h; ++b)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < h; ++j)
        out[(b * h + i) * k + b * h + j] = d.at(i, j);
  return out;
}

} // namespace

int64_t qqq::inferHeadDim(ModuleOp module) {
  auto props = module->getAttrOfType<ArrayAttr>("qqq.onnx_metadata_props");
  if (!props)
    return 0;
  for (Attribute a : props) {
    auto kv = dyn_cast<ArrayAttr>(a);
    if (!kv || kv.size() != 2 || cast<StringAttr>(kv[0]).getValue() != "qqq.config")
      continue;
    llvm::Expected<llvm::json::Value> config =
        llvm::json::parse(cast<StringAttr>(kv[1]).getValue());
    if (!config) {
      llvm::consumeError(config.takeError());
      return 0;
    }
    const llvm::json::Object *o = config->getAsObject();
    std::optional<int64_t> hidden = o ? o->getInteger("hidden_size") : std::nullopt;
    std::optional<int64_t> heads =
        o ? o->getInteger("num_attention_heads") : std::nullopt;
    if (hidden && heads && *heads > 0 && *hidden % *heads == 0)
      return *hidden / *heads;
  }
  return 0;
}

LogicalResult qqq::runRotate(ModuleOp module, const RotateConfig &cfg,
                             llvm::json::Array &records) {
  StageTimer total;
  CalibrationStats *calib = nullptr;
  if (!cfg.calibration.empty()) {
    auto loaded = CalibrationRegistry::get(cfg.calibration);
    if (!loaded)
      return module.emitError()
             << "qqq-rotate: " << llvm::toString(loaded.takeError());
    calib = *loaded;
  }

  DecoderStructure s;
  if (failed(findStructure(module, s)))
    return failure();
  RandomizedHadamard q(s.hidden, cfg.seed);
  if (!q.error().empty())
    return module.emitError() << "qqq-rotate: hidden size " << s.hidden
                              << ": " << q.error();

  // Per-head pairs are found and checked before anything is changed.
  std::optional<RandomizedHadamard> hd;
  if (cfg.headDim > 0) {
    hd.emplace(cfg.headDim, cfg.seed + 1);
    if (!hd->error().empty())
      return module.emitError() << "qqq-rotate: head-dim " << cfg.headDim
                                << ": " << hd->error();
    SmallVector<LinearOp> vProjs;
    module.walk([&](LinearOp op) {
      if (op.getLayerName().contains(cfg.vProjPattern))
        vProjs.push_back(op);
    });
    for (LinearOp v : vProjs) {
      std::string why;
      FailureOr<LinearOp> o = followToOProj(v, why);
      if (failed(o))
        return v.emitError("qqq-rotate: per-head rotation of '")
               << v.getLayerName() << "' cannot be folded: " << why;
      if (v.getOutFeatures() % cfg.headDim || o->getInFeatures() % cfg.headDim)
        return v.emitError("qqq-rotate: head-dim ")
               << cfg.headDim << " does not divide v_proj's N ("
               << v.getOutFeatures() << ") or o_proj's K ("
               << o->getInFeatures() << ")";
      s.headPairs.push_back({v, *o});
    }
  }

  auto note = [&](std::string what, std::string layer) {
    records.push_back(llvm::json::Object{
        {"stage", "rotate"}, {"layer", layer}, {"rotation", what}});
  };

  // Embedding rows.
  {
    OpOperand &table = s.embedding->getOpOperand(0);
    std::vector<float> e = *readFloatConstant(table.get());
    int64_t rows = int64_t(e.size()) / s.hidden;
    Matrix<float> m(rows, s.hidden);
    m.data = std::move(e);
    q.rotateRows(m);
    replaceFloatOperand(table, m.data);
    note("E·Q", s.embedding.getNodeName().str());
  }
  // Norms: γ into the readers' columns, then W·Q; γ ← 1.
  for (RMSNormOp norm : s.norms) {
    std::vector<float> gamma = *readFloatConstant(norm.getGamma());
    llvm::SetVector<Operation *> readers;
    for (Operation *u : norm.getResult().getUsers())
      readers.insert(u);
    for (Operation *u : readers) {
      auto lin = cast<LinearOp>(u);
      Matrix<float> w = *readLinearWeight(lin);
      for (int64_t n = 0; n < w.rows; ++n)
        for (int64_t k = 0; k < w.cols; ++k)
          w.at(n, k) *= gamma[k];
      q.rotateRows(w);
      replaceLinearWeight(lin, w);
      note("diag(γ)·W·Q", lin.getLayerName().str());
    }
    if (calib) {
      ActivationStats *st =
          calib->lookup(cast<LinearOp>(readers.front()).getInputName());
      if (st) {
        for (float g : gamma)
          if (g == 0.0f)
            return norm.emitError("qqq-rotate: γ has a zero entry; the "
                                  "calibration statistics cannot follow");
        st->divideChannels(std::vector<double>(gamma.begin(), gamma.end()));
        st->rotate(denseOf(q));
      }
    }
    replaceFloatOperand(norm.getGammaMutable(),
                        std::vector<float>(gamma.size(), 1.0f));
  }
  // Writers: Qᵀ·W, b·Q.
  for (LinearOp lin : s.writers) {
    Matrix<float> w = *readLinearWeight(lin);
    rotateOutputs(w, q);
    replaceLinearWeight(lin, w);
    if (lin.getBias()) {
      std::vector<float> bias = *readFloatConstant(lin.getBias());
      q.applyRight(bias.data());
      replaceFloatOperand(lin.getBiasMutable()[0], bias);
    }
    note("Qᵀ·W", lin.getLayerName().str());
  }
  // Per head: v_proj rows Hdᵀ·W_v per head, o_proj columns W_o·blockdiag(Hd).
  for (auto [v, o] : s.headPairs) {
    int64_t h = cfg.headDim;
    Matrix<float> wv = *readLinearWeight(v);
    std::vector<float> col(h);
    for (int64_t head = 0; head < wv.rows / h; ++head)
      for (int64_t k = 0; k < wv.cols; ++k) {
        for (int64_t i = 0; i < h; ++i)
          col[i] = wv.at(head * h + i, k);
        hd->applyRight(col.data());
        for (int64_t i = 0; i < h; ++i)
          wv.at(head * h + i, k) = col[i];
      }
    replaceLinearWeight(v, wv);
    if (v.getBias()) {
      std::vector<float> bias = *readFloatConstant(v.getBias());
      for (size_t head = 0; head < bias.size() / h; ++head)
        hd->applyRight(bias.data() + head * h);
      replaceFloatOperand(v.getBiasMutable()[0], bias);
    }
    Matrix<float> wo = *readLinearWeight(o);
    for (int64_t n = 0; n < wo.rows; ++n)
      for (int64_t head = 0; head < wo.cols / h; ++head)
        hd->applyRight(&wo.at(n, head * h));
    replaceLinearWeight(o, wo);
    if (calib)
      if (ActivationStats *st = calib->lookup(o.getInputName()))
        st->rotate(blockDiagonal(*hd, o.getInFeatures()));
    note("per-head Hdᵀ·W_v", v.getLayerName().str());
    note("per-head W_o·blockdiag(Hd)", o.getLayerName().str());
  }
  llvm::errs() << "[qqq-rotate] hidden " << s.hidden << ": " << s.norms.size()
               << " norms folded, " << s.writers.size() << " writers, "
               << s.headPairs.size() << " per-head pairs ("
               << llvm::format("%.2f", total.seconds()) << " s)\n";
  return success();
}

namespace {
struct QQQRotatePass : qqq::impl::QQQRotatePassBase<QQQRotatePass> {
  using Base::Base;
  void runOnOperation() override {
    RotateConfig cfg;
    cfg.calibration = calibration;
    cfg.seed = seed;
    cfg.headDim = headDim;
    cfg.vProjPattern = vProj;
    llvm::json::Array records;
    if (failed(runRotate(getOperation(), cfg, records)))
      return signalPassFailure();
    if (!report.empty())
      if (llvm::Error e = writeJsonAtomically(
              report, llvm::json::Object{{"layers", std::move(records)}})) {
        getOperation().emitError() << llvm::toString(std::move(e));
        return signalPassFailure();
      }
  }
};
} // namespace
