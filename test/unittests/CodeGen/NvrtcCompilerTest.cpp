//===- NvrtcCompilerTest.cpp - NVRTC driver, cache, ptxas -----------------===//
#include "qqq/CodeGen/KernelCache.h"
#include "qqq/CodeGen/NvrtcCompiler.h"
#include "qqq/CodeGen/PtxAssembler.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qqq::codegen;

namespace {

/// A fresh directory removed at the end of the test.
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-codegen-test", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

void writeFile(const std::string &path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << path;
  os << text;
}

CompileOptions testOptions(const std::string &arch, const std::string &cache) {
  CompileOptions o;
  o.arch = arch;
  o.templatesDir = QQQ_TEST_INPUTS_DIR;
  o.cacheDir = cache;
  return o;
}

const KernelInstance kScale{"scale_kernel.cuh", "qqq_test::scale<3, 128>", {}};

class NvrtcTargets : public ::testing::TestWithParam<const char *> {};

TEST_P(NvrtcTargets, CompilesAndPtxasAccepts) {
  std::string arch = GetParam();
  llvm::Expected<CompiledKernel> k =
      compileKernel(kScale, testOptions(arch, "off"));
  ASSERT_TRUE(!!k) << llvm::toString(k.takeError());
  EXPECT_FALSE(k->fromCache);
  // The lowered name is the mangled template instance, and the PTX defines it.
  EXPECT_NE(k->entryName.find("scale"), std::string::npos) << k->entryName;
  EXPECT_NE(k->ptx.find(".entry " + k->entryName), std::string::npos);
  EXPECT_NE(k->ptx.find(".target " + arch), std::string::npos) << k->ptx.substr(0, 400);
  std::string resources;
  llvm::Error e = assembleWithPtxas(k->ptx, arch, &resources);
  EXPECT_FALSE(!!e) << llvm::toString(std::move(e));
  EXPECT_NE(resources.find("registers"), std::string::npos) << resources;
}

INSTANTIATE_TEST_SUITE_P(Targets, NvrtcTargets,
                         ::testing::Values("sm_90a", "sm_80"));

TEST(NvrtcCompiler, CacheHitsAndInvalidatesOnTemplateChange) {
  TempDir cache, templates;
  writeFile(templates.file("scale_kernel.cuh"),
            "template <int A, int T> __global__ void s(int *p) { p[0] = A; }\n");
  KernelInstance inst{"scale_kernel.cuh", "s<5, 32>", {}};
  CompileOptions o = testOptions("sm_80", std::string(cache.path));
  o.templatesDir = std::string(templates.path);

  llvm::Expected<CompiledKernel> first = compileKernel(inst, o);
  ASSERT_TRUE(!!first) << llvm::toString(first.takeError());
  EXPECT_FALSE(first->fromCache);
  llvm::Expected<CompiledKernel> second = compileKernel(inst, o);
  ASSERT_TRUE(!!second) << llvm::toString(second.takeError());
  EXPECT_TRUE(second->fromCache);
  EXPECT_EQ(first->ptx, second->ptx);
  EXPECT_EQ(first->entryName, second->entryName);

  // Another configuration is another entry.
  inst.nameExpression = "s<6, 32>";
  llvm::Expected<CompiledKernel> other = compileKernel(inst, o);
  ASSERT_TRUE(!!other) << llvm::toString(other.takeError());
  EXPECT_FALSE(other->fromCache);
  EXPECT_NE(other->entryName, first->entryName);

  // Editing the template invalidates what was generated from it.
  inst.nameExpression = "s<5, 32>";
  writeFile(templates.file("scale_kernel.cuh"),
            "template <int A, int T> __global__ void s(int *p) { p[1] = A; }\n");
  llvm::Expected<CompiledKernel> edited = compileKernel(inst, o);
  ASSERT_TRUE(!!edited) << llvm::toString(edited.takeError());
  EXPECT_FALSE(edited->fromCache);
  EXPECT_NE(edited->ptx, first->ptx);

  // No temporary files are left behind by the atomic writes.
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(cache.path, ec), end;
       it != end && !ec; it.increment(ec))
    EXPECT_EQ(llvm::sys::path::extension(it->path()), ".ptx") << it->path();
}

TEST(NvrtcCompiler, CorruptCacheEntryIsAMiss) {
  TempDir cache;
  KernelCache kc(std::string(cache.path));
  writeFile(kc.pathFor("abc"), "garbage without newline");
  EXPECT_FALSE(kc.lookup("abc").has_value());
  llvm::Error e = kc.store("abc", {"entry", ".entry entry { ret; }"});
  ASSERT_FALSE(!!e) << llvm::toString(std::move(e));
  std::optional<KernelCache::Entry> hit = kc.lookup("abc");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->entryName, "entry");
}

TEST(NvrtcCompiler, CompileErrorCarriesTheLog) {
  KernelInstance broken{"broken_kernel.cuh", "broken<3>", {}};
  llvm::Expected<CompiledKernel> k =
      compileKernel(broken, testOptions("sm_90a", "off"));
  ASSERT_FALSE(!!k);
  std::string message = llvm::toString(k.takeError());
  EXPECT_NE(message.find("broken<3>"), std::string::npos) << message;
  EXPECT_NE(message.find("undeclared_name"), std::string::npos) << message;
  EXPECT_NE(message.find("compute_90a"), std::string::npos) << message;
}

TEST(NvrtcCompiler, MissingTemplateAndBadArchAreErrors) {
  KernelInstance missing{"no_such.cuh", "f<1>", {}};
  llvm::Expected<CompiledKernel> k =
      compileKernel(missing, testOptions("sm_90a", "off"));
  ASSERT_FALSE(!!k);
  EXPECT_NE(llvm::toString(k.takeError()).find("no_such.cuh"), std::string::npos);
  llvm::Expected<CompiledKernel> bad =
      compileKernel(kScale, testOptions("sm_75x", "off"));
  ASSERT_FALSE(!!bad);
  EXPECT_NE(llvm::toString(bad.takeError()).find("sm_75x"), std::string::npos);
}

TEST(NvrtcCompiler, PtxasRejectsBadPtx) {
  llvm::Error e = assembleWithPtxas(".version 8.0\n.target sm_90a\nnot ptx", "sm_90a");
  ASSERT_TRUE(!!e);
  EXPECT_NE(llvm::toString(std::move(e)).find("ptxas"), std::string::npos);
}

TEST(KernelCache, HashSeparatesParts) {
  EXPECT_NE(contentHash({"ab", "c"}), contentHash({"a", "bc"}));
  EXPECT_EQ(contentHash({"ab", "c"}), contentHash({"ab", "c"}));
  EXPECT_EQ(contentHash({}).size(), 64u);
}

} // namespace
