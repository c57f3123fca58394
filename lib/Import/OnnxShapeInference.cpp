//===- OnnxShapeInference.cpp - ONNX's shape inference, contained ----------===//
#include "OnnxShapeInference.h"

#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

#include <cstring>
#include <exception>
#include <map>
#include <set>

std::vector<onnx::ValueInfoProto>
qqq::onnx_import::inferValueInfo(const onnx::ModelProto &model,
                                 std::string &error) {
  // Infer on a skeleton: same graph, initializers without their data, so a
  // model with inline weights is not copied.
  onnx::ModelProto skeleton;
  skeleton.set_ir_version(model.ir_version());
  *skeleton.mutable_opset_import() = model.opset_import();
  const onnx::GraphProto &g = model.graph();
  onnx::GraphProto *s = skeleton.mutable_graph();
  *s->mutable_node() = g.node();
  *s->mutable_input() = g.input();
  *s->mutable_output() = g.output();
  *s->mutable_value_info() = g.value_info();
  for (const auto &t : g.initializer()) {
    // Small tensors keep their data: shape inputs (Reshape, Slice, ...) are
    // read by the inference; weights are not.
    if (t.data_location() != onnx::TensorProto::EXTERNAL &&
        t.ByteSizeLong() <= 4096) {
      *s->add_initializer() = t;
      continue;
    }
    onnx::TensorProto *c = s->add_initializer();
    c->set_name(t.name());
    c->set_data_type(t.data_type());
    *c->mutable_dims() = t.dims();
  }
  // libonnx 1.12 knows operators up to opset 17. Where opset 18 changed an
  // operator's inputs, its old schema would infer wrong shapes: Reduce* took
  // `axes` from an input (rewritten back to the attribute when the input is
  // a constant), Pad and Resize gained `axes`. Outputs of nodes that cannot
  // be rewritten lose their inferred types below, with everything after.
  int64_t opset = 0;
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      opset = op.version();
  std::set<std::string> untrusted;
  if (opset >= 18) {
    static const std::set<std::string> reduces = {
        "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
        "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
    std::map<std::string, const onnx::TensorProto *> constants;
    for (const auto &t : s->initializer())
      constants[t.name()] = &t;
    for (auto &n : *s->mutable_node()) {
      if (!(n.domain().empty() || n.domain() == "ai.onnx"))
        continue;
      if (reduces.count(n.op_type()) && n.input_size() >= 2 &&
          !n.input(1).empty()) {
        auto c = constants.find(n.input(1));
        const onnx::TensorProto *t = c == constants.end() ? nullptr : c->second;
        if (t && t->data_type() == onnx::TensorProto::INT64 &&
            (t->int64_data_size() > 0 || !t->raw_data().empty())) {
          onnx::AttributeProto *axes = n.add_attribute();
          axes->set_name("axes");
          axes->set_type(onnx::AttributeProto::INTS);
          if (t->int64_data_size() > 0) {
            *axes->mutable_ints() = t->int64_data();
          } else {
            const std::string &raw = t->raw_data();
            for (size_t i = 0; i + 8 <= raw.size(); i += 8) {
              int64_t v;
              std::memcpy(&v, raw.data() + i, 8);
              axes->add_ints(v);
            }
          }
          n.mutable_input()->DeleteSubrange(1, n.input_size() - 1);
          continue;
        }
        for (const auto &out : n.output())
          untrusted.insert(out);
      } else if (reduces.count(n.op_type()) || n.op_type() == "Pad" ||
                 n.op_type() == "Resize" || n.op_type() == "Col2Im") {
        if (n.op_type() == "Pad" || n.op_type() == "Resize" ||
            n.op_type() == "Col2Im")
          for (const auto &out : n.output())
            untrusted.insert(out);
      }
    }
    // Skeleton nodes now carry opset-17 forms of those operators.
    for (auto &op : *skeleton.mutable_opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx")
        op.set_version(17);
  }

  // libonnx 1.12 knows neither RMSNormalization (opset 23) nor ONNX
  // Runtime's SimplifiedLayerNormalization, and inference stops at them.
  // Their output has the input's type: add it and infer again, until no
  // such output is left untyped (at most one round per norm).
  auto typeOf = [&](const std::string &name) -> const onnx::TypeProto * {
    for (const auto *list : {&s->input(), &s->value_info(), &s->output()})
      for (const auto &vi : *list)
        if (vi.name() == name && vi.has_type() && vi.type().has_tensor_type() &&
            vi.type().tensor_type().elem_type() != 0)
          return &vi.type();
    return nullptr;
  };
  for (int round = 0; round <= s->node_size(); ++round) {
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/false,
                                          /*error_mode=*/0,
                                          /*enable_data_propagation=*/false);
      onnx::shape_inference::InferShapes(
          skeleton, onnx::OpSchemaRegistry::Instance(), options);
    } catch (const std::exception &e) {
      error = e.what();
      break;
    } catch (...) {
      error = "unknown error";
      break;
    }
    bool added = false;
    for (const auto &n : s->node()) {
      if ((n.op_type() != "RMSNormalization" &&
           n.op_type() != "SimplifiedLayerNormalization") ||
          n.input_size() < 1 || n.output_size() < 1 || n.output(0).empty() ||
          typeOf(n.output(0)))
        continue;
      if (const onnx::TypeProto *t = typeOf(n.input(0))) {
        onnx::ValueInfoProto *vi = s->add_value_info();
        vi->set_name(n.output(0));
        *vi->mutable_type() = *t;
        added = true;
      }
    }
    if (!added)
      break;
  }
  // Drop types that depend on an untrusted value.
  for (bool changed = !untrusted.empty(); changed;) {
    changed = false;
    for (const auto &n : s->node())
      for (const auto &in : n.input())
        if (untrusted.count(in)) {
          for (const auto &out : n.output())
            changed |= untrusted.insert(out).second;
          break;
        }
  }
  std::vector<onnx::ValueInfoProto> result;
  for (const auto &vi : s->value_info())
    if (!untrusted.count(vi.name()))
      result.push_back(vi);
  return result;
}
