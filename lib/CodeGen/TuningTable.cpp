//===- TuningTable.cpp - per-shape kernel configurations ------------------===//
#include "qqq/CodeGen/TuningTable.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace llvm;

namespace qqq::codegen {

static bool fromJSON(const json::Value &v, TuningEntry &e, json::Path p) {
  json::ObjectMapper o(v, p);
  GemmConfig &c = e.config;
  if (!o || !o.map("arch", c.arch) || !o.map("n", e.shape.N) ||
      !o.map("k", e.shape.K) || !o.map("group", e.shape.groupSize) ||
      !o.map("max_m", c.maxM) || !o.map("tile_m", c.tileM) ||
      !o.map("tile_n", c.tileN) || !o.map("tile_k", c.tileK) ||
      !o.map("stages", c.stages) || !o.map("warps", c.warps) ||
      !o.map("split_k", c.splitK) || !o.map("swap_ab", c.swapAB) ||
      // Optional: tables written before stream-K leave it off (0).
      !o.mapOptional("stream_k", c.streamK) ||
      !o.mapOptional("token_tiles_first", c.tokenTilesFirst) ||
      !o.mapOptional("time_us", e.timeUs))
    return false;
  return true;
}

Expected<TuningTable> TuningTable::parse(StringRef text, StringRef source) {
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return createStringError(inconvertibleErrorCode(), "%s: invalid JSON: %s",
                             source.str().c_str(),
                             toString(value.takeError()).c_str());
  json::Path::Root root("tuning");
  TuningTable table;
  std::string format;
  json::ObjectMapper o(*value, root);
  if (!o || !o.map("format", format) || !o.map("gpu", table.gpu) ||
      !o.map("entries", table.entries))
    return createStringError(inconvertibleErrorCode(), "%s: %s",
                             source.str().c_str(),
                             toString(root.getError()).c_str());
  if (format != "qqq-tuning-v1")
    return createStringError(inconvertibleErrorCode(),
                             "%s: format '%s' is not qqq-tuning-v1",
                             source.str().c_str(), format.c_str());
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const TuningEntry &e = table.entries[i];
    if (std::optional<std::string> why = whyInvalid(e.config, e.shape))
      return createStringError(inconvertibleErrorCode(),
                               "%s: entry %zu (n = %lld, k = %lld, max_m = "
                               "%lld) is not a valid kernel: %s",
                               source.str().c_str(), i,
                               static_cast<long long>(e.shape.N),
                               static_cast<long long>(e.shape.K),
                               static_cast<long long>(e.config.maxM),
                               why->c_str());
  }
  return table;
}

Expected<TuningTable> TuningTable::load(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read tuning table %s: %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  return parse((*buffer)->getBuffer(), path);
}

Expected<std::vector<std::string>> TuningTable::tableFiles(StringRef dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (sys::path::extension(it->path()) == ".json")
      files.push_back(it->path());
  if (ec)
    return createStringError(ec, "cannot list tuning tables in %s: %s",
                             dir.str().c_str(), ec.message().c_str());
  std::sort(files.begin(), files.end());
  return files;
}

Expected<std::optional<TuningTable>> TuningTable::findForGpu(StringRef dir,
                                                             StringRef gpu) {
  Expected<std::vector<std::string>> files = tableFiles(dir);
  if (!files)
    return files.takeError();
  for (const std::string &file : *files) {
    Expected<TuningTable> table = load(file);
    if (!table)
      return table.takeError();
    if (table->gpu == gpu)
      return std::optional<TuningTable>(std::move(*table));
  }
  return std::optional<TuningTable>();
}

static bool sameKey(const TuningEntry &e, StringRef arch, const GemmShape &s) {
  return e.config.arch == arch && e.shape.N == s.N && e.shape.K == s.K &&
         e.shape.groupSize == s.groupSize;
}

const TuningEntry *TuningTable::lookup(StringRef arch, const GemmShape &shape,
                                       int64_t M) const {
  const TuningEntry *best = nullptr;
  const TuningEntry *unbounded = nullptr;
  for (const TuningEntry &e : entries) {
    if (!sameKey(e, arch, shape))
      continue;
    if (e.config.maxM == 0) {
      unbounded = &e;
    } else if (e.config.maxM >= M &&
               (!best || e.config.maxM < best->config.maxM)) {
      best = &e;
    }
  }
  return best ? best : unbounded;
}

std::optional<GemmConfig> TuningTable::configForBucket(StringRef arch,
                                                       const GemmShape &shape,
                                                       int64_t bucket) const {
  const TuningEntry *e = nullptr;
  if (bucket == 0) {
    for (const TuningEntry &c : entries)
      if (sameKey(c, arch, shape) && c.config.maxM == 0)
        e = &c;
  } else {
    e = lookup(arch, shape, bucket);
  }
  if (!e)
    return std::nullopt;
  GemmConfig config = e->config;
  config.maxM = bucket;
  return config;
}

} // namespace qqq::codegen
