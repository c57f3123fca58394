//===- KernelBuilder.cpp - catalog entry -> PTX + launch description ------===//
#include "qqq/CodeGen/KernelBuilder.h"

using namespace llvm;

namespace qqq::codegen {

const std::vector<std::string> &gemmArgumentNames(KernelFamily family) {
  static const std::vector<std::string> sm80 = {
      "x", "s_tok", "w_packed", "s_ch", "s_grp", "bias", "y", "M", "workspace"};
  static const std::vector<std::string> sm90 = [] {
    std::vector<std::string> names = sm80;
    names.push_back("x_map");
    return names;
  }();
  return family == KernelFamily::W4A8GemmSm90 ? sm90 : sm80;
}

const std::vector<std::string> &activationArgumentNames(KernelFamily family) {
  static const std::vector<std::string> quantize = {"x", "q", "s_tok", "M"};
  static const std::vector<std::string> rmsNorm = {"x", "gamma", "epsilon",
                                                   "q", "s_tok", "M"};
  return family == KernelFamily::RmsNormQuantize ? rmsNorm : quantize;
}

Expected<runtime::MExpr> fitMExpr(function_ref<int64_t(int64_t)> f,
                                  StringRef what) {
  const int64_t kScan = 8192;
  int64_t first = f(1);
  runtime::MExpr e = runtime::MExpr::constant(first);
  for (int64_t m = 2; m <= kScan; ++m) {
    int64_t v = f(m);
    if (v != first) {
      e.div = m - 1;
      e.mul = v - first;
      e.add = first - e.mul;
      break;
    }
  }
  auto check = [&](int64_t m) { return e.evaluate(m) == f(m); };
  for (int64_t m = 1; m <= kScan; ++m)
    if (!check(m))
      return createStringError(inconvertibleErrorCode(),
                               "%s is not of the form a*ceil(M/d)+c (M = %lld)",
                               what.str().c_str(), static_cast<long long>(m));
  for (int64_t m : {10007, 65536, 100000, 1000003})
    if (!check(m))
      return createStringError(inconvertibleErrorCode(),
                               "%s is not of the form a*ceil(M/d)+c (M = %lld)",
                               what.str().c_str(), static_cast<long long>(m));
  return e;
}

/// Fills the launch rules of `entry` from a catalog geometry function.
static Error describeLaunch(runtime::KernelEntry &entry,
                            function_ref<LaunchGeometry(int64_t)> geometry) {
  LaunchGeometry first = geometry(1);
  for (int d = 0; d < 3; ++d) {
    Expected<runtime::MExpr> grid = fitMExpr(
        [&](int64_t m) { return int64_t(geometry(m).grid[d]); },
        entry.expression + " grid dimension " + std::to_string(d));
    if (!grid)
      return grid.takeError();
    entry.grid[d] = *grid;
    entry.block[d] = first.block[d];
  }
  Expected<runtime::MExpr> workspace = fitMExpr(
      [&](int64_t m) { return int64_t(geometry(m).workspaceBytes); },
      entry.expression + " workspace");
  if (!workspace)
    return workspace.takeError();
  entry.workspaceBytes = *workspace;
  entry.sharedBytes = first.sharedBytes;
  // Block and shared memory must not depend on M: the manifest has one each.
  for (int64_t m : {2, 17, 100, 4096}) {
    LaunchGeometry g = geometry(m);
    if (g.sharedBytes != first.sharedBytes || g.block[0] != first.block[0] ||
        g.block[1] != first.block[1] || g.block[2] != first.block[2])
      return createStringError(inconvertibleErrorCode(),
                               "%s: block or shared memory depends on M",
                               entry.expression.c_str());
  }
  return Error::success();
}

static Expected<GeneratedKernel> compileEntry(GeneratedKernel kernel,
                                              KernelFamily family,
                                              const CompileOptions &options) {
  KernelInstance instance{templateFileName(family), kernel.launch.expression,
                          {}};
  Expected<CompiledKernel> compiled = compileKernel(instance, options);
  if (!compiled)
    return compiled.takeError();
  kernel.launch.entry = compiled->entryName;
  kernel.ptx = std::move(compiled->ptx);
  kernel.fromCache = compiled->fromCache;
  return kernel;
}

Expected<GeneratedKernel> generateGemmKernel(const GemmShape &shape,
                                             const GemmConfig &config,
                                             CompileOptions options) {
  if (std::optional<std::string> why = whyInvalid(config, shape))
    return createStringError(
        inconvertibleErrorCode(),
        "no %s kernel for N = %lld, K = %lld, group %lld: %s",
        config.arch.c_str(), static_cast<long long>(shape.N),
        static_cast<long long>(shape.K),
        static_cast<long long>(shape.groupSize), why->c_str());
  KernelFamily family = *gemmFamilyForArch(config.arch);
  GeneratedKernel kernel;
  kernel.launch.family = familyName(family);
  kernel.launch.expression = instantiationExpression(config, shape);
  kernel.launch.args = gemmArgumentNames(family);
  kernel.launch.xMapRows = activationMapRows(config);
  if (Error e = describeLaunch(kernel.launch, [&](int64_t m) {
        return launchGeometry(config, shape, m);
      }))
    return std::move(e);
  // sm_90a stream-K leaves only its flags zero (Runtime.h, workspaces).
  kernel.launch.workspaceScratch =
      family == KernelFamily::W4A8GemmSm90 && config.streamK > 0;
  options.arch = config.arch;
  kernel.launch.programmaticLaunch =
      allowsProgrammaticLaunch(family, options.arch);
  return compileEntry(std::move(kernel), family, options);
}

Expected<GeneratedKernel> generateActivationKernel(KernelFamily family,
                                                   int64_t K,
                                                   CompileOptions options) {
  if (std::optional<std::string> why = activationWhyInvalid(family, K))
    return createStringError(inconvertibleErrorCode(), "no %s kernel: %s",
                             familyName(family), why->c_str());
  GeneratedKernel kernel;
  kernel.launch.family = familyName(family);
  kernel.launch.expression = activationExpression(family, K);
  kernel.launch.args = activationArgumentNames(family);
  if (Error e = describeLaunch(kernel.launch, [&](int64_t m) {
        return activationGeometry(family, K, m);
      }))
    return std::move(e);
  kernel.launch.programmaticLaunch =
      allowsProgrammaticLaunch(family, options.arch);
  return compileEntry(std::move(kernel), family, options);
}

} // namespace qqq::codegen
