//===- TuningTableTest.cpp - tuning table parsing and lookup --------------===//
#include "qqq/CodeGen/TuningTable.h"

#include <gtest/gtest.h>

using namespace qqq::codegen;

namespace {

std::string entry(int64_t maxM, int64_t tileM, int64_t splitK,
                  int64_t group = 0) {
  return "{\"arch\": \"sm_90a\", \"n\": 4096, \"k\": 4096, \"group\": " +
         std::to_string(group) + ", \"max_m\": " + std::to_string(maxM) +
         ", \"tile_m\": " + std::to_string(tileM) +
         ", \"tile_n\": 64, \"tile_k\": 128, \"stages\": 4, \"warps\": 4, "
         "\"split_k\": " +
         std::to_string(splitK) + ", \"swap_ab\": true, \"time_us\": 10.5}";
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
