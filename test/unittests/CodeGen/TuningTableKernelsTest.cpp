//===- TuningTableKernelsTest.cpp - every tuned kernel -> ptxas -----------===//
//
// The kernels a compile with the committed tuning tables can emit: every
// distinct (shape, configuration) of tuning/*.json is instantiated with
// NVRTC (cache off) and assembled with ptxas for its arch, as qqq-compile
// would. The CI sweep covers each template knob on a few shapes; this
// covers the tuned combinations (tile, warps, split, stream-K, tile order)
// on the shapes users run. Fails on an assembly error, on wgmma batches
// ptxas had to serialize, or on local memory beyond the 16-byte frame some
// 16-warp group-128 tiles have had since the thirteenth session.
//
//===----------------------------------------------------------------------===//
#include "qqq/CodeGen/KernelBuilder.h"
#include "qqq/CodeGen/KernelCatalog.h"
#include "qqq/CodeGen/PtxAssembler.h"
#include "qqq/CodeGen/TemplatePaths.h"
#include "qqq/CodeGen/TuningTable.h"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

using namespace qqq::codegen;

namespace {

// "N bytes stack frame" of ptxas's resource report (0 when absent).
int64_t stackFrameBytes(const std::string &resources) {
  std::smatch m;
  static const std::regex frame("([0-9]+) bytes stack frame");
  return std::regex_search(resources, m, frame) ? std::stoll(m[1]) : 0;
}

TEST(TuningTableKernels, EveryTunedKernelAssembles) {
  std::vector<std::pair<GemmShape, GemmConfig>> kernels;
  std::set<std::string> seen;
  std::string dir = tuningTablesDir();
  llvm::Expected<std::vector<std::string>> files = TuningTable::tableFiles(dir);
  ASSERT_TRUE(!!files) << llvm::toString(files.takeError());
  for (const std::string &path : *files) {
    llvm::Expected<TuningTable> t = TuningTable::load(path);
    ASSERT_TRUE(!!t) << llvm::toString(t.takeError());
    for (const TuningEntry &e : t->entries)
      if (seen.insert(e.config.arch + " " +
                      instantiationExpression(e.config, e.shape))
              .second)
        kernels.push_back({e.shape, e.config});
  }
  if (kernels.empty())
    GTEST_SKIP() << "no tuning tables in " << dir;

  std::mutex mu;
  std::vector<std::string> failures;
  int64_t framed = 0;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < kernels.size();) {
      const auto &[shape, config] = kernels[i];
      CompileOptions options;
      options.arch = config.arch;
      options.cacheDir = "off";
      std::string name = config.arch + " " + instantiationExpression(config, shape);
      llvm::Expected<GeneratedKernel> k =
          generateGemmKernel(shape, config, options);
      std::string resources, error;
      int64_t frame = 0;
      if (!k) {
        error = llvm::toString(k.takeError());
      } else if (llvm::Error e =
                     assembleWithPtxas(k->ptx, config.arch, &resources)) {
        error = llvm::toString(std::move(e));
      } else if (resources.find("C7519") != std::string::npos ||
                 resources.find("C7520") != std::string::npos) {
        error = "wgmma serialized:\n" + resources;
      } else if ((frame = stackFrameBytes(resources)) > 16) {
        error = "local memory:\n" + resources;
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!error.empty())
        failures.push_back(name + ": " + error);
      else if (frame > 0) {
        ++framed;
        std::cout << "ptxas " << name << ":\n" << resources << "\n";
      }
    }
  };
  unsigned workers = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back(work);
  for (std::thread &t : pool)
    t.join();
  std::cout << kernels.size() << " tuned kernels assembled, " << framed
            << " with a 16-byte stack frame\n";
  for (const std::string &f : failures)
    ADD_FAILURE() << f;
}

} // namespace
