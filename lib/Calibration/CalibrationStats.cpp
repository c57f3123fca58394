//===- CalibrationStats.cpp - safetensors calibration reader -----------------===//
#include "qqq/Calibration/CalibrationStats.h"
#include "qqq/Numerics/GPTQ.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

using namespace qqq;
using llvm::createStringError;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {
struct TensorRef {
  std::string dtype;
  std::vector<int64_t> shape;
  const char *data = nullptr;
  size_t bytes = 0;
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};
} // namespace

static size_t dtypeSize(StringRef dtype) {
  if (dtype == "F32" || dtype == "I32")
    return 4;
  if (dtype == "F64" || dtype == "I64")
    return 8;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16")
    return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL")
    return 1;
  return 0;
}

template <typename T>
static std::vector<T> copyAs(const TensorRef &t) {
  std::vector<T> out(t.numel());
  if (!out.empty())
    std::memcpy(out.data(), t.data, out.size() * sizeof(T));
  return out;
}

static Error tensorError(StringRef path, StringRef name, const llvm::Twine &msg) {
  return createStringError("calibration file '" + path + "': tensor '" + name +
                           "' " + msg);
}

Expected<std::unique_ptr<CalibrationStats>>
CalibrationStats::load(StringRef path) {
  auto bufOr = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!bufOr)
    return createStringError("cannot read calibration file '" + path +
                             "': " + bufOr.getError().message());
  std::unique_ptr<llvm::MemoryBuffer> buf = std::move(*bufOr);
  StringRef bytes = buf->getBuffer();
  if (bytes.size() < 8)
    return createStringError("calibration file '" + path +
                             "' is not a safetensors file (shorter than 8 bytes)");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | static_cast<unsigned char>(bytes[i]);
  if (headerLen > bytes.size() - 8)
    return createStringError("calibration file '" + path +
                             "' is not a safetensors file (header length " +
                             llvm::Twine(headerLen) + " exceeds the file)");
  StringRef header = bytes.substr(8, headerLen);
  StringRef payload = bytes.substr(8 + headerLen);
  Expected<llvm::json::Value> json = llvm::json::parse(header);
  if (!json)
    return createStringError("calibration file '" + path +
                             "': bad safetensors header: " +
                             llvm::toString(json.takeError()));
  const llvm::json::Object *obj = json->getAsObject();
  if (!obj)
    return createStringError("calibration file '" + path +
                             "': safetensors header is not a JSON object");

  llvm::StringMap<TensorRef> tensors;
  for (const auto &kv : *obj) {
    StringRef name = kv.first;
    if (name == "__metadata__")
      continue;
    const llvm::json::Object *t = kv.second.getAsObject();
    if (!t)
      return tensorError(path, name, "has no descriptor object");
    TensorRef ref;
    auto dtype = t->getString("dtype");
    const llvm::json::Array *shape = t->getArray("shape");
    const llvm::json::Array *offs = t->getArray("data_offsets");
    if (!dtype || !shape || !offs || offs->size() != 2)
      return tensorError(path, name, "lacks dtype, shape or data_offsets");
    ref.dtype = dtype->str();
    for (const llvm::json::Value &d : *shape) {
      auto v = d.getAsInteger();
      if (!v || *v < 0)
        return tensorError(path, name, "has a bad shape entry");
      ref.shape.push_back(*v);
    }
    auto b = (*offs)[0].getAsInteger(), e = (*offs)[1].getAsInteger();
    if (!b || !e || *b < 0 || *e < *b || uint64_t(*e) > payload.size())
      return tensorError(path, name, "has data_offsets outside the file");
    size_t esz = dtypeSize(ref.dtype);
    if (esz == 0)
      return tensorError(path, name, "has unsupported dtype " + ref.dtype);
    if (uint64_t(*e - *b) != uint64_t(ref.numel()) * esz)
      return tensorError(path, name, "size does not match its shape");
    ref.data = payload.data() + *b;
    ref.bytes = *e - *b;
    tensors[name] = ref;
  }

  auto stats = std::make_unique<CalibrationStats>();
  stats->filePath = path.str();
  for (const auto &kv : tensors) {
    StringRef key = kv.first();
    if (!key.ends_with(".xtx"))
      continue;
    StringRef act = key.drop_back(4);
    auto need = [&](StringRef suffix, StringRef dtype,
                    size_t rank) -> Expected<const TensorRef *> {
      std::string n = (act + suffix).str();
      auto it = tensors.find(n);
      if (it == tensors.end())
        return tensorError(path, n, "is missing (activation '" + act +
                                        "' has an .xtx entry)");
      if (it->second.dtype != dtype || it->second.shape.size() != rank)
        return tensorError(path, n, "must be " + dtype + " of rank " +
                                        llvm::Twine(rank));
      return &it->second;
    };
    auto xtx = need(".xtx", "F64", 2);
    auto mn = need(".min", "F32", 1);
    auto mx = need(".max", "F32", 1);
    auto cnt = need(".count", "I64", 1);
    auto smp = need(".sample", "F32", 2);
    if (!xtx)
      return xtx.takeError();
    if (!mn)
      return mn.takeError();
    if (!mx)
      return mx.takeError();
    if (!cnt)
      return cnt.takeError();
    if (!smp)
      return smp.takeError();
    int64_t k = (*xtx)->shape[0];
    if ((*xtx)->shape[1] != k || (*mn)->shape[0] != k || (*mx)->shape[0] != k ||
        (*smp)->shape[1] != k || (*cnt)->shape[0] != 1)
      return tensorError(path, act,
                         "statistics disagree on the channel count K = " +
                             llvm::Twine(k));
    ActivationStats s;
    s.channels = k;
    s.xtx = copyAs<double>(**xtx);
    s.min = copyAs<float>(**mn);
    s.max = copyAs<float>(**mx);
    s.count = copyAs<int64_t>(**cnt)[0];
    s.sampleRows = (*smp)->shape[0];
    s.sample = copyAs<float>(**smp);
    if (s.count <= 0)
      return tensorError(path, (act + ".count").str(), "must be positive");
    // First-token statistics are optional (files written before they
    // existed): the windows' first rows (`first`, current files) or their
    // Σ x₀x₀ᵀ (`xtx_first` + `count_first`, files of the first format).
    if (tensors.count((act + ".first").str())) {
      auto fr = need(".first", "F32", 2);
      if (!fr)
        return fr.takeError();
      if ((*fr)->shape[1] != k || (*fr)->shape[0] <= 0)
        return tensorError(path, (act + ".first").str(),
                           "must be W x " + llvm::Twine(k) + " with W > 0");
      numerics::Matrix<float> rows((*fr)->shape[0], k);
      rows.data = copyAs<float>(**fr);
      s.xtxFirst = numerics::sumOfOuterProducts(rows);
      s.countFirst = rows.rows;
    } else if (tensors.count((act + ".xtx_first").str())) {
      auto xf = need(".xtx_first", "F64", 2);
      auto cf = need(".count_first", "I64", 1);
      if (!xf)
        return xf.takeError();
      if (!cf)
        return cf.takeError();
      if ((*xf)->shape[0] != k || (*xf)->shape[1] != k ||
          (*cf)->shape[0] != 1)
        return tensorError(path, (act + ".xtx_first").str(),
                           "must be " + llvm::Twine(k) + "x" + llvm::Twine(k));
      s.xtxFirst = copyAs<double>(**xf);
      s.countFirst = copyAs<int64_t>(**cf)[0];
      if (s.countFirst <= 0)
        return tensorError(path, (act + ".count_first").str(),
                           "must be positive");
    }
    stats->acts[act] = std::move(s);
  }
  if (stats->acts.empty())
    return createStringError("calibration file '" + path +
                             "' holds no '<activation>.xtx' statistics");
  return stats;
}

ActivationStats *CalibrationStats::lookup(StringRef name) {
  auto it = acts.find(name);
  return it == acts.end() ? nullptr : &it->second;
}

void ActivationStats::divideChannels(const std::vector<double> &s) {
  int64_t k = channels;
  for (int64_t j = 0; j < k; ++j) {
    float a = float(min[j] / s[j]), b = float(max[j] / s[j]);
    min[j] = std::min(a, b);
    max[j] = std::max(a, b);
  }
  for (std::vector<double> *m : {&xtx, &xtxFirst})
    if (!m->empty())
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j)
          (*m)[i * k + j] /= s[i] * s[j];
  for (int64_t r = 0; r < sampleRows; ++r)
    for (int64_t j = 0; j < k; ++j)
      sample[r * k + j] = float(sample[r * k + j] / s[j]);
}

/// Qᵀ·m·Q for K×K row-major m and Q.
static std::vector<double> congruence(const std::vector<double> &m,
                                      const std::vector<double> &q,
                                      int64_t k) {
  // tmp = m·Q, then out = Qᵀ·tmp.
  std::vector<double> tmp(k * k, 0.0), out(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t l = 0; l < k; ++l) {
      double a = m[i * k + l];
      if (a == 0.0)
        continue;
      for (int64_t j = 0; j < k; ++j)
        tmp[i * k + j] += a * q[l * k + j];
    }
  for (int64_t l = 0; l < k; ++l)
    for (int64_t i = 0; i < k; ++i) {
      double a = q[l * k + i];
      if (a == 0.0)
        continue;
      for (int64_t j = 0; j < k; ++j)
        out[i * k + j] += a * tmp[l * k + j];
    }
  return out;
}

void ActivationStats::rotate(const std::vector<double> &q) {
  int64_t k = channels;
  xtx = congruence(xtx, q, k);
  if (!xtxFirst.empty())
    xtxFirst = congruence(xtxFirst, q, k);
  std::vector<float> rotated(sample.size(), 0.0f);
  std::fill(min.begin(), min.end(), std::numeric_limits<float>::infinity());
  std::fill(max.begin(), max.end(), -std::numeric_limits<float>::infinity());
  for (int64_t r = 0; r < sampleRows; ++r) {
    std::vector<double> row(k, 0.0);
    for (int64_t l = 0; l < k; ++l) {
      double x = sample[r * k + l];
      for (int64_t j = 0; j < k; ++j)
        row[j] += x * q[l * k + j];
    }
    for (int64_t j = 0; j < k; ++j) {
      float v = float(row[j]);
      rotated[r * k + j] = v;
      min[j] = std::min(min[j], v);
      max[j] = std::max(max[j], v);
    }
  }
  if (sampleRows == 0) {
    std::fill(min.begin(), min.end(), 0.0f);
    std::fill(max.begin(), max.end(), 0.0f);
  }
  sample = std::move(rotated);
}

namespace {
struct RegistryState {
  std::mutex mu;
  llvm::StringMap<std::unique_ptr<CalibrationStats>> files;
};
RegistryState &registryState() {
  static RegistryState state;
  return state;
}
} // namespace

Expected<CalibrationStats *> CalibrationRegistry::get(StringRef path) {
  RegistryState &st = registryState();
  std::lock_guard<std::mutex> lock(st.mu);
  auto it = st.files.find(path);
  if (it != st.files.end())
    return it->second.get();
  auto loaded = CalibrationStats::load(path);
  if (!loaded)
    return loaded.takeError();
  CalibrationStats *raw = loaded->get();
  st.files[path] = std::move(*loaded);
  return raw;
}

void CalibrationRegistry::drop(StringRef path) {
  RegistryState &st = registryState();
  std::lock_guard<std::mutex> lock(st.mu);
  st.files.erase(path);
}
