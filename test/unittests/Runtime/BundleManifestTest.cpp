//===- BundleManifestTest.cpp - manifest round trip and validation --------===//
#include "qqq/Runtime/BundleManifest.h"
#include "qqq/Runtime/Runtime.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qqq::runtime;

namespace {

BundleManifest sample() {
  BundleManifest m;
  m.arch = "sm_90a";
  KernelEntry k;
  k.name = "k0";
  k.ptxFile = "kernels/k0.ptx";
  k.entry = "_ZN3qqq14w4a8_gemm_sm90ILi64ELi128EEEvv";
  k.family = "w4a8_gemm_sm90";
  k.expression = "qqq::w4a8_gemm_sm90<64, 128>";
  k.grid[0] = MExpr::constant(4);
  k.grid[1] = MExpr{1, 16, 0};
  k.grid[2] = MExpr::constant(2);
  k.block[0] = 128;
  k.sharedBytes = 8192;
  k.workspaceBytes = MExpr{4160, 16, 0};
  k.args = {"x", "s_tok", "w_packed", "s_ch", "s_grp", "bias", "y", "M", "workspace"};
  m.kernels.push_back(k);
  k.name = "k1";
  k.ptxFile = "kernels/k1.ptx";
  k.programmaticLaunch = true;
  k.args.push_back("x_map");
  k.xMapRows = 128;
  k.workspaceScratch = true;
  m.kernels.push_back(k);
  LayerEntry l;
  l.name = "layers.0.q_proj";
  l.kind = "w4a8_linear";
  l.n = 256;
  l.k = 128;
  l.groupSize = 0;
  l.layout = "sm90_interleaved";
  l.tensors["w_packed"] = TensorFile{"tensors/l0.w_packed.bin", "u8", {256, 64}};
  l.tensors["s_ch"] = TensorFile{"tensors/l0.s_ch.bin", "f32", {256}};
  l.buckets = {Bucket{16, "k0"}, Bucket{0, "k1"}};
  m.layers.push_back(l);
  LayerEntry qa;
  qa.name = "quantize_act";
  qa.kind = "quantize_act";
  qa.k = 128;
  qa.buckets = {Bucket{0, "k1"}};
  qa.consumers = {"layers.0.q_proj", "layers.0.k_proj"};
  m.layers.push_back(qa);
  return m;
}

std::string print(const BundleManifest &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::formatv("{0:2}", toJSON(m));
  return s;
}

TEST(BundleManifest, RoundTrips) {
  BundleManifest m = sample();
  std::string text = print(m);
  llvm::Expected<BundleManifest> back = parseManifest(text, "manifest.json");
  ASSERT_TRUE(!!back) << llvm::toString(back.takeError());
  EXPECT_EQ(print(*back), text);
  ASSERT_EQ(back->kernels.size(), 2u);
  EXPECT_EQ(back->kernels[0].grid[1], (MExpr{1, 16, 0}));
  EXPECT_EQ(back->kernels[0].grid[1].evaluate(33), 3);
  EXPECT_EQ(back->kernels[0].workspaceBytes.evaluate(1), 4160);
  EXPECT_FALSE(back->kernels[0].programmaticLaunch);
  EXPECT_TRUE(back->kernels[1].programmaticLaunch);
  EXPECT_EQ(back->kernels[0].xMapRows, 0);
  EXPECT_EQ(back->kernels[1].xMapRows, 128);
  EXPECT_EQ(back->kernels[1].args.back(), "x_map");
  EXPECT_FALSE(back->kernels[0].workspaceScratch);
  EXPECT_TRUE(back->kernels[1].workspaceScratch);
  // Written only where set: the kernels of older bundles read as false.
  EXPECT_EQ(text.find("workspace_scratch"), text.rfind("workspace_scratch"));
  const LayerEntry *l = back->findLayer("layers.0.q_proj");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->bucketFor(1)->kernel, "k0");
  EXPECT_EQ(l->bucketFor(16)->kernel, "k0");
  EXPECT_EQ(l->bucketFor(17)->kernel, "k1");
  EXPECT_EQ(l->bucketFor(100000)->kernel, "k1");
  EXPECT_EQ(l->tensors.at("w_packed").byteSize(), 256 * 64);
  EXPECT_EQ(l->tensors.at("s_ch").byteSize(), 256 * 4);
  ASSERT_NE(back->findLayer("quantize_act"), nullptr);
  EXPECT_EQ(back->findLayer("quantize_act")->consumers,
            (std::vector<std::string>{"layers.0.q_proj", "layers.0.k_proj"}));
}

void expectRejected(const std::string &text, const std::string &needle) {
  llvm::Expected<BundleManifest> m = parseManifest(text, "bad/manifest.json");
  ASSERT_FALSE(!!m) << "accepted: " << text;
  std::string message = llvm::toString(m.takeError());
  EXPECT_NE(message.find("bad/manifest.json"), std::string::npos) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << message;
}

void replace(std::string &s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

// A stream-K kernel of a bundle written before the field existed leaves its
// whole workspace zero (its flags lie after the slots): it must get the
// zeroed kind of workspace, not the scratch one.
TEST(BundleManifest, WorkspaceScratchDefaultsToOff) {
  std::string text = print(sample());
  replace(text, "\"workspace_scratch\": true", "\"x_old\": 0");
  llvm::Expected<BundleManifest> back = parseManifest(text, "manifest.json");
  ASSERT_TRUE(!!back) << llvm::toString(back.takeError());
  EXPECT_FALSE(back->kernels[1].workspaceScratch);
}

// Bundles written before the field existed launch in plain stream order.
TEST(BundleManifest, ProgrammaticLaunchDefaultsToOff) {
  std::string text = print(sample());
  replace(text, "\"programmatic_launch\": true,", "");
  llvm::Expected<BundleManifest> back = parseManifest(text, "manifest.json");
  ASSERT_TRUE(!!back) << llvm::toString(back.takeError());
  EXPECT_FALSE(back->kernels[1].programmaticLaunch);
}

TEST(BundleManifest, RejectsInconsistentManifests) {
  expectRejected("{", "invalid JSON");
  std::string text = print(sample());
  std::string badFormat = text;
  replace(badFormat, "qqq-bundle-v1", "qqq-bundle-v0");
  expectRejected(badFormat, "qqq-bundle-v0");
  std::string unknownKernel = text;
  replace(unknownKernel, "\"kernel\": \"k1\"", "\"kernel\": \"k9\"");
  expectRejected(unknownKernel, "k9");
  std::string badOrder = text;
  replace(badOrder, "\"max_m\": 16", "\"max_m\": 0");
  expectRejected(badOrder, "max_m must increase");
  std::string badDtype = text;
  replace(badDtype, "\"dtype\": \"f32\"", "\"dtype\": \"f64\"");
  expectRejected(badDtype, "unknown dtype");
  std::string badKind = text;
  replace(badKind, "\"kind\": \"w4a8_linear\"", "\"kind\": \"conv\"");
  expectRejected(badKind, "unknown layer kind");
  std::string badBlock = text;
  replace(badBlock, "\"block\": [\n        128,", "\"block\": [\n        0,");
  expectRejected(badBlock, "positive");
  // A TMA box has at most 256 rows.
  std::string badMapRows = text;
  replace(badMapRows, "\"x_map_rows\": 128", "\"x_map_rows\": 512");
  expectRejected(badMapRows, "x_map_rows");
}

/// A layer fused from q (128 columns) and k (128) by qqq-fuse-projections.
BundleManifest fusedSample() {
  BundleManifest m = sample();
  LayerEntry &l = m.layers[0];
  l.name = "layers.0.q_proj+k_proj";
  l.parts = {LayerPart{"layers.0.q_proj", 0, 128},
             LayerPart{"layers.0.k_proj", 128, 128}};
  m.layers[1].consumers = {l.name};
  return m;
}

TEST(BundleManifest, FusedLayerPartsRoundTripAndAreFound) {
  std::string text = print(fusedSample());
  llvm::Expected<BundleManifest> back = parseManifest(text, "manifest.json");
  ASSERT_TRUE(!!back) << llvm::toString(back.takeError());
  EXPECT_EQ(print(*back), text);
  LayerPart part;
  const LayerEntry *k = back->findLayerPart("layers.0.k_proj", part);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->name, "layers.0.q_proj+k_proj");
  EXPECT_EQ(part.offset, 128);
  EXPECT_EQ(part.n, 128);
  ASSERT_NE(back->findLayerPart("layers.0.q_proj", part), nullptr);
  EXPECT_EQ(part.offset, 0);
  // The fused layer by its own name: all of its columns.
  ASSERT_EQ(back->findLayerPart("layers.0.q_proj+k_proj", part), k);
  EXPECT_EQ(part.offset, 0);
  EXPECT_EQ(part.n, 256);
  // An unfused layer is its own part.
  ASSERT_NE(back->findLayerPart("quantize_act", part), nullptr);
  EXPECT_EQ(part.n, 0);
  EXPECT_EQ(back->findLayerPart("layers.0.v_proj", part), nullptr);
  EXPECT_EQ(back->findLayer("layers.0.k_proj"), nullptr);
  // Unfused manifests have no "parts" key.
  EXPECT_EQ(print(sample()).find("\"parts\""), std::string::npos);
}

TEST(BundleManifest, RejectsPartsThatDoNotTileTheColumns) {
  std::string text = print(fusedSample());
  std::string gap = text;
  replace(gap, "\"offset\": 128", "\"offset\": 130");
  expectRejected(gap, "cover the columns in order");
  BundleManifest empty = fusedSample();
  empty.layers[0].parts[1].n = 0;
  empty.layers[0].n = 128;
  expectRejected(print(empty), "cover the columns in order");
  std::string shortSum = text;
  replace(shortSum, "\"n\": 256", "\"n\": 320");
  expectRejected(shortSum, "add up to the layer's n");
  BundleManifest one = fusedSample();
  one.layers[0].parts.pop_back();
  one.layers[0].n = 128;
  expectRejected(print(one), "two or more layers");
  BundleManifest quantizer = fusedSample();
  quantizer.layers[1].parts = quantizer.layers[0].parts;
  expectRejected(print(quantizer), "only a w4a8_linear");
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("qqq-bundle-test", path)); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  void write(const std::string &rel, const std::string &bytes) {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, rel);
    llvm::sys::fs::create_directories(llvm::sys::path::parent_path(p));
    std::error_code ec;
    llvm::raw_fd_ostream os(p, ec);
    ASSERT_FALSE(ec);
    os << bytes;
  }
};

TEST(ReadBundle, ChecksFilesAndSizes) {
  TempDir dir;
  dir.write("manifest.json", print(sample()));
  dir.write("kernels/k0.ptx", ".entry x");
  dir.write("kernels/k1.ptx", ".entry x");
  dir.write("tensors/l0.w_packed.bin", std::string(256 * 64, '\x11'));
  dir.write("tensors/l0.s_ch.bin", std::string(256 * 4 - 1, '\0')); // short
  llvm::Expected<BundleManifest> m = readBundle(dir.path);
  ASSERT_FALSE(!!m);
  std::string message = llvm::toString(m.takeError());
  EXPECT_NE(message.find("s_ch"), std::string::npos) << message;
  EXPECT_NE(message.find("1023 bytes"), std::string::npos) << message;

  dir.write("tensors/l0.s_ch.bin", std::string(256 * 4, '\0'));
  llvm::Expected<BundleManifest> ok = readBundle(dir.path);
  ASSERT_TRUE(!!ok) << llvm::toString(ok.takeError());
  EXPECT_EQ(ok->layers.size(), 2u);

  llvm::SmallString<128> ptx(dir.path);
  llvm::sys::path::append(ptx, "kernels", "k1.ptx");
  llvm::sys::fs::remove(ptx);
  llvm::Expected<BundleManifest> noPtx = readBundle(dir.path);
  ASSERT_FALSE(!!noPtx);
  EXPECT_NE(llvm::toString(noPtx.takeError()).find("k1.ptx"), std::string::npos);

  llvm::Expected<BundleManifest> none = readBundle("/nonexistent/bundle");
  ASSERT_FALSE(!!none);
  EXPECT_NE(llvm::toString(none.takeError()).find("manifest.json"), std::string::npos);
}

} // namespace
