//===- TuningTableTest.cpp - tuning table parsing and lookup --------------===//
#include "qqq/CodeGen/TemplatePaths.h"
#include "qqq/CodeGen/TuningTable.h"


#include <gtest/gtest.h>

using namespace qqq::codegen;

namespace {

std::string entry(int64_t maxM, int64_t tileM, int64_t splitK,
                  int64_t group = 0, int64_t streamK = 0) {
  return "{\"arch\": \"sm_90a\", \"n\": 4096, \"k\": 4096, \"group\": " +
         std::to_string(group) + ", \"max_m\": " + std::to_string(maxM) +
         ", \"tile_m\": " + std::to_string(tileM) +
         ", \"tile_n\": 64, \"tile_k\": 128, \"stages\": 4, \"warps\": 4, "
         "\"split_k\": " +
         std::to_string(splitK) + ", \"swap_ab\": true, " +
         (streamK ? "\"stream_k\": " + std::to_string(streamK) + ", " : "") +
         "\"time_us\": 10.5}";
}

std::string table(const std::string &entries) {
  return "{\"format\": \"qqq-tuning-v1\", \"gpu\": \"NVIDIA H100 80GB HBM3\", "
         "\"entries\": [" + entries + "]}";
}

TEST(TuningTable, LookupPicksTheSmallestBucketAtLeastM) {
  llvm::Expected<TuningTable> t = TuningTable::parse(
      table(entry(64, 64, 2) + "," + entry(16, 16, 4) + "," + entry(0, 128, 1)),
      "t.json");
  ASSERT_TRUE(!!t) << llvm::toString(t.takeError());
  EXPECT_EQ(t->gpu, "NVIDIA H100 80GB HBM3");
  GemmShape s{4096, 4096, 0};
  ASSERT_NE(t->lookup("sm_90a", s, 1), nullptr);
  EXPECT_EQ(t->lookup("sm_90a", s, 1)->config.tileM, 16);
  EXPECT_EQ(t->lookup("sm_90a", s, 16)->config.tileM, 16);
  EXPECT_EQ(t->lookup("sm_90a", s, 17)->config.tileM, 64);
  EXPECT_EQ(t->lookup("sm_90a", s, 65)->config.tileM, 128); // unbounded last
  EXPECT_EQ(t->lookup("sm_80", s, 1), nullptr);
  EXPECT_EQ(t->lookup("sm_90a", GemmShape{4096, 4096, 128}, 1), nullptr);

  std::optional<GemmConfig> b32 = t->configForBucket("sm_90a", s, 32);
  ASSERT_TRUE(b32.has_value());
  EXPECT_EQ(b32->tileM, 64);
  EXPECT_EQ(b32->maxM, 32); // re-labelled with the bucket it serves
  std::optional<GemmConfig> b0 = t->configForBucket("sm_90a", s, 0);
  ASSERT_TRUE(b0.has_value());
  EXPECT_EQ(b0->tileM, 128);
}

// "stream_k" is optional: tables written before stream-K mean 0 (off).
TEST(TuningTable, StreamKIsReadAndDefaultsToOff) {
  llvm::Expected<TuningTable> t = TuningTable::parse(
      table(entry(64, 64, 1, 0, 132) + "," + entry(0, 128, 1)), "t.json");
  ASSERT_TRUE(!!t) << llvm::toString(t.takeError());
  ASSERT_EQ(t->entries.size(), 2u);
  EXPECT_EQ(t->entries[0].config.streamK, 132);
  EXPECT_EQ(t->entries[1].config.streamK, 0);
  std::optional<GemmConfig> b16 =
      t->configForBucket("sm_90a", GemmShape{4096, 4096, 0}, 16);
  ASSERT_TRUE(b16.has_value());
  EXPECT_EQ(b16->streamK, 132);
}

// "token_tiles_first" likewise: absent means false; a non-boolean is an
// error naming the entry.
TEST(TuningTable, TokenTilesFirstIsReadAndDefaultsToOff) {
  std::string ordered = entry(256, 64, 1);
  ordered.insert(ordered.find("\"time_us\""), "\"token_tiles_first\": true, ");
  llvm::Expected<TuningTable> t =
      TuningTable::parse(table(ordered + "," + entry(0, 128, 1)), "t.json");
  ASSERT_TRUE(!!t) << llvm::toString(t.takeError());
  ASSERT_EQ(t->entries.size(), 2u);
  EXPECT_TRUE(t->entries[0].config.tokenTilesFirst);
  EXPECT_FALSE(t->entries[1].config.tokenTilesFirst);
  std::optional<GemmConfig> b128 =
      t->configForBucket("sm_90a", GemmShape{4096, 4096, 0}, 128);
  ASSERT_TRUE(b128.has_value());
  EXPECT_TRUE(b128->tokenTilesFirst);

  std::string notBool = entry(256, 64, 1);
  notBool.insert(notBool.find("\"time_us\""), "\"token_tiles_first\": 1, ");
  llvm::Expected<TuningTable> bad = TuningTable::parse(table(notBool), "t.json");
  ASSERT_FALSE(!!bad);
  std::string msg = llvm::toString(bad.takeError());
  EXPECT_NE(msg.find("t.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("token_tiles_first"), std::string::npos) << msg;
}

TEST(TuningTable, RejectsInvalidEntriesAndFormats) {
  llvm::Expected<TuningTable> bad =
      TuningTable::parse(table(entry(16, 12, 1)), "bad.json");
  ASSERT_FALSE(!!bad);
  std::string message = llvm::toString(bad.takeError());
  EXPECT_NE(message.find("bad.json"), std::string::npos) << message;
  EXPECT_NE(message.find("tile_m = 12"), std::string::npos) << message;

  llvm::Expected<TuningTable> format = TuningTable::parse(
      "{\"format\": \"v0\", \"gpu\": \"x\", \"entries\": []}", "f.json");
  ASSERT_FALSE(!!format);
  EXPECT_NE(llvm::toString(format.takeError()).find("qqq-tuning-v1"),
            std::string::npos);

  llvm::Expected<TuningTable> missing = TuningTable::parse(
      "{\"format\": \"qqq-tuning-v1\", \"entries\": []}", "m.json");
  ASSERT_FALSE(!!missing);
  EXPECT_NE(llvm::toString(missing.takeError()).find("gpu"), std::string::npos);
}

} // namespace

namespace {

// The committed tables (tuning/, written by qqq-tune) must parse and hold
// only configurations the catalog accepts, each found again by lookup.
TEST(TuningTable, CommittedTablesAreValid) {
  std::string dir = qqq::codegen::tuningTablesDir();
  llvm::Expected<std::vector<std::string>> files = TuningTable::tableFiles(dir);
  ASSERT_TRUE(!!files) << llvm::toString(files.takeError());
  int tables = 0;
  for (const std::string &path : *files) {
    llvm::Expected<TuningTable> t = TuningTable::load(path);
    ASSERT_TRUE(!!t) << llvm::toString(t.takeError());
    EXPECT_FALSE(t->gpu.empty()) << path;
    for (const TuningEntry &e : t->entries) {
      const TuningEntry *found =
          t->lookup(e.config.arch, e.shape, e.config.maxM == 0 ? 1 << 20 : e.config.maxM);
      ASSERT_NE(found, nullptr);
      EXPECT_EQ(found->config, e.config) << path << " n " << e.shape.N
                                         << " k " << e.shape.K << " max_m "
                                         << e.config.maxM;
    }
    llvm::Expected<std::optional<TuningTable>> again =
        TuningTable::findForGpu(dir, t->gpu);
    ASSERT_TRUE(!!again) << llvm::toString(again.takeError());
    ASSERT_TRUE(again->has_value());
    ++tables;
  }
  if (tables == 0)
    GTEST_SKIP() << "no tuning tables in " << dir;
}

} // namespace
