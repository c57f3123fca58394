//===- BundleManifest.cpp - the manifest of a qqq kernel bundle -----------===//
#include "qqq/Runtime/BundleManifest.h"

using namespace llvm;

namespace qqq::runtime {

int64_t dtypeSize(StringRef dtype) {
  if (dtype == "i8" || dtype == "u8")
    return 1;
  if (dtype == "f16")
    return 2;
  if (dtype == "f32" || dtype == "i32")
    return 4;
  return 0;
}

int64_t TensorFile::byteSize() const {
  int64_t n = dtypeSize(dtype);
  for (int64_t d : shape)
    n *= d;
  return n;
}

const Bucket *LayerEntry::bucketFor(int64_t M) const {
  for (const Bucket &b : buckets)
    if (b.maxM == 0 || M <= b.maxM)
      return &b;
  return nullptr;
}

const KernelEntry *BundleManifest::findKernel(StringRef name) const {
  for (const KernelEntry &k : kernels)
    if (k.name == name)
      return &k;
  return nullptr;
}

const LayerEntry *BundleManifest::findLayer(StringRef name) const {
  for (const LayerEntry &l : layers)
    if (l.name == name)
      return &l;
  return nullptr;
}

bool LayerEntry::computes(StringRef wanted, LayerPart &part) const {
  if (name == wanted) {
    part = {name, 0, n};
    return true;
  }
  for (const LayerPart &p : parts)
    if (p.name == wanted) {
      part = p;
      return true;
    }
  return false;
}

const LayerEntry *BundleManifest::findLayerPart(StringRef name,
                                                LayerPart &part) const {
  for (const LayerEntry &l : layers)
    if (l.computes(name, part))
      return &l;
  return nullptr;
}

//===-- Writing -----------------------------------------------------------===//

static json::Value toJSON(const MExpr &e) {
  if (e.div == 0)
    return e.add;
  return json::Object{{"mul", e.mul}, {"div", e.div}, {"add", e.add}};
}

json::Value toJSON(const BundleManifest &m) {
  json::Array kernels;
  for (const KernelEntry &k : m.kernels) {
    json::Array args;
    for (const std::string &a : k.args)
      args.push_back(a);
    json::Object kernel{
        {"name", k.name},
        {"ptx", k.ptxFile},
        {"entry", k.entry},
        {"family", k.family},
        {"expression", k.expression},
        {"grid",
         json::Array{toJSON(k.grid[0]), toJSON(k.grid[1]), toJSON(k.grid[2])}},
        {"block", json::Array{k.block[0], k.block[1], k.block[2]}},
        {"shared_bytes", k.sharedBytes},
        {"workspace_bytes", toJSON(k.workspaceBytes)},
        {"args", std::move(args)},
        {"programmatic_launch", k.programmaticLaunch}};
    if (k.xMapRows > 0)
      kernel["x_map_rows"] = k.xMapRows;
    if (k.workspaceScratch)
      kernel["workspace_scratch"] = true;
    kernels.push_back(std::move(kernel));
  }
  json::Array layers;
  for (const LayerEntry &l : m.layers) {
    json::Object tensors;
    for (const auto &[role, t] : l.tensors) {
      json::Array shape;
      for (int64_t d : t.shape)
        shape.push_back(d);
      tensors[role] = json::Object{
          {"file", t.file}, {"dtype", t.dtype}, {"shape", std::move(shape)}};
    }
    json::Array buckets;
    for (const Bucket &b : l.buckets)
      buckets.push_back(json::Object{{"max_m", b.maxM}, {"kernel", b.kernel}});
    json::Object layer{{"name", l.name},
                       {"kind", l.kind},
                       {"n", l.n},
                       {"k", l.k},
                       {"group_size", l.groupSize},
                       {"layout", l.layout},
                       {"tensors", std::move(tensors)},
                       {"buckets", std::move(buckets)}};
    if (l.kind == "rms_norm_quantize")
      layer["epsilon"] = l.epsilon;
    if (!l.consumers.empty()) {
      json::Array consumers;
      for (const std::string &c : l.consumers)
        consumers.push_back(c);
      layer["consumers"] = std::move(consumers);
    }
    if (!l.parts.empty()) {
      json::Array parts;
      for (const LayerPart &p : l.parts)
        parts.push_back(
            json::Object{{"name", p.name}, {"offset", p.offset}, {"n", p.n}});
      layer["parts"] = std::move(parts);
    }
    layers.push_back(std::move(layer));
  }
  return json::Object{{"format", kBundleFormat},
                      {"arch", m.arch},
                      {"kernels", std::move(kernels)},
                      {"layers", std::move(layers)}};
}

//===-- Reading -----------------------------------------------------------===//

namespace {
/// Errors name the manifest file and the JSON path of the bad value.
struct Reader {
  StringRef source;
  Error fail(const json::Path::Root &root) const {
    std::string msg;
    raw_string_ostream os(msg);
    os << source << ": " << toString(root.getError());
    return createStringError(inconvertibleErrorCode(), msg);
  }
};
} // namespace

static bool fromJSON(const json::Value &v, MExpr &e, json::Path p) {
  if (std::optional<int64_t> c = v.getAsInteger()) {
    e = MExpr::constant(*c);
    return true;
  }
  json::ObjectMapper o(v, p);
  if (!o || !o.map("mul", e.mul) || !o.map("div", e.div) ||
      !o.map("add", e.add))
    return false;
  if (e.div < 0) {
    p.field("div").report("must be >= 0");
    return false;
  }
  return true;
}

static bool fromJSON(const json::Value &v, KernelEntry &k, json::Path p) {
  json::ObjectMapper o(v, p);
  std::vector<MExpr> grid;
  std::vector<int64_t> block;
  if (!o || !o.map("name", k.name) || !o.map("ptx", k.ptxFile) ||
      !o.map("entry", k.entry) || !o.mapOptional("family", k.family) ||
      !o.mapOptional("expression", k.expression) || !o.map("grid", grid) ||
      !o.map("block", block) || !o.map("shared_bytes", k.sharedBytes) ||
      !o.mapOptional("workspace_bytes", k.workspaceBytes) ||
      !o.map("args", k.args) ||
      !o.mapOptional("programmatic_launch", k.programmaticLaunch) ||
      !o.mapOptional("x_map_rows", k.xMapRows) ||
      !o.mapOptional("workspace_scratch", k.workspaceScratch))
    return false;
  if (k.xMapRows < 0 || k.xMapRows > 256) {
    p.field("x_map_rows").report("must be in 0..256 (a TMA box dimension)");
    return false;
  }
  if (grid.size() != 3) {
    p.field("grid").report("expected 3 dimensions");
    return false;
  }
  if (block.size() != 3) {
    p.field("block").report("expected 3 dimensions");
    return false;
  }
  for (int i = 0; i < 3; ++i) {
    k.grid[i] = grid[i];
    k.block[i] = block[i];
    if (block[i] <= 0) {
      p.field("block").report("dimensions must be positive");
      return false;
    }
  }
  if (k.sharedBytes < 0) {
    p.field("shared_bytes").report("must be >= 0");
    return false;
  }
  return true;
}

static bool fromJSON(const json::Value &v, TensorFile &t, json::Path p) {
  json::ObjectMapper o(v, p);
  if (!o || !o.map("file", t.file) || !o.map("dtype", t.dtype) ||
      !o.map("shape", t.shape))
    return false;
  if (dtypeSize(t.dtype) == 0) {
    p.field("dtype").report("unknown dtype (i8, u8, f16, f32, i32)");
    return false;
  }
  for (int64_t d : t.shape)
    if (d < 0) {
      p.field("shape").report("negative dimension");
      return false;
    }
  return true;
}

static bool fromJSON(const json::Value &v, Bucket &b, json::Path p) {
  json::ObjectMapper o(v, p);
  return o && o.map("max_m", b.maxM) && o.map("kernel", b.kernel);
}

static bool fromJSON(const json::Value &v, LayerPart &part, json::Path p) {
  json::ObjectMapper o(v, p);
  return o && o.map("name", part.name) && o.map("offset", part.offset) &&
         o.map("n", part.n);
}

/// A fused layer's parts tile its columns [0, n) in order, once each.
static bool validParts(const LayerEntry &l, json::Path p) {
  if (l.parts.empty())
    return true;
  if (l.kind != "w4a8_linear" || l.parts.size() < 2) {
    p.report("only a w4a8_linear fused from two or more layers has parts");
    return false;
  }
  int64_t next = 0;
  for (size_t i = 0; i < l.parts.size(); ++i) {
    const LayerPart &part = l.parts[i];
    if (part.name.empty() || part.offset != next || part.n <= 0) {
      p.index(i).report("parts must be named and cover the columns in "
                        "order: offset = the previous part's end, n > 0");
      return false;
    }
    next += part.n;
  }
  if (next != l.n) {
    p.report("the parts' columns must add up to the layer's n");
    return false;
  }
  return true;
}

static bool fromJSON(const json::Value &v, LayerEntry &l, json::Path p) {
  json::ObjectMapper o(v, p);
  if (!o || !o.map("name", l.name) || !o.map("kind", l.kind) ||
      !o.mapOptional("n", l.n) || !o.map("k", l.k) ||
      !o.mapOptional("group_size", l.groupSize) ||
      !o.mapOptional("epsilon", l.epsilon) ||
      !o.mapOptional("layout", l.layout) ||
      !o.mapOptional("tensors", l.tensors) || !o.map("buckets", l.buckets) ||
      !o.mapOptional("consumers", l.consumers) ||
      !o.mapOptional("parts", l.parts))
    return false;
  if (!validParts(l, p.field("parts")))
    return false;
  if (l.kind != "w4a8_linear" && l.kind != "quantize_act" &&
      l.kind != "rms_norm_quantize") {
    p.field("kind").report(
        "unknown layer kind (w4a8_linear, quantize_act, rms_norm_quantize)");
    return false;
  }
  if (l.buckets.empty()) {
    p.field("buckets").report("a layer needs at least one kernel bucket");
    return false;
  }
  for (size_t i = 0; i < l.buckets.size(); ++i) {
    int64_t m = l.buckets[i].maxM;
    bool last = i + 1 == l.buckets.size();
    if (m < 0 || (m == 0 && !last) ||
        (i > 0 && (l.buckets[i - 1].maxM >= m && m != 0))) {
      p.field("buckets").report(
          "max_m must increase, with 0 (no bound) only in the last bucket");
      return false;
    }
  }
  return true;
}

Expected<BundleManifest> parseManifest(StringRef text, StringRef source) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(inconvertibleErrorCode(), "%s: invalid JSON: %s",
                             source.str().c_str(),
                             toString(value.takeError()).c_str());
  Reader reader{source};
  json::Path::Root root("manifest");
  BundleManifest m;
  std::string format;
  json::ObjectMapper o(*value, root);
  if (!o || !o.map("format", format) || !o.map("arch", m.arch) ||
      !o.map("kernels", m.kernels) || !o.map("layers", m.layers))
    return reader.fail(root);
  if (format != kBundleFormat)
    return createStringError(inconvertibleErrorCode(),
                             "%s: format '%s' is not %s", source.str().c_str(),
                             format.c_str(), kBundleFormat);
  for (const LayerEntry &l : m.layers)
    for (const Bucket &b : l.buckets)
      if (!m.findKernel(b.kernel))
        return createStringError(
            inconvertibleErrorCode(),
            "%s: layer '%s' names kernel '%s', which the manifest lacks",
            source.str().c_str(), l.name.c_str(), b.kernel.c_str());
  return m;
}

} // namespace qqq::runtime
