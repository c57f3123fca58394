//===- PackingTest.cpp - int4 packing round trips ------------------------===//

#include "qqq/Numerics/Packing.h"

#include <gtest/gtest.h>

#include <random>

using namespace qqq::numerics;

namespace {

Matrix<int8_t> randomInt4(int64_t N, int64_t K, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(-8, 7);
  Matrix<int8_t> q(N, K);
  for (int8_t &v : q.data)
    v = static_cast<int8_t>(d(rng));
  return q;
}

TEST(Packing, RowMajorByteLayoutIsAsDocumented) {
  Matrix<int8_t> q(2, 4);
  q.data = {1, -1, -8, 7, 0, 3, -2, -3};
  std::vector<uint8_t> p;
  ASSERT_EQ(packRowMajor(q, p), "");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], 0xF1); // k=0 -> low nibble 1, k=1 -> high nibble 0xF (-1)
  EXPECT_EQ(p[1], 0x78); // -8 = 0x8 low, 7 high
  EXPECT_EQ(p[2], 0x30);
  EXPECT_EQ(p[3], 0xDE); // -2 = 0xE, -3 = 0xD
}

TEST(Packing, RowMajorRoundTripsForEveryShape) {
  uint64_t seed = 0;
  for (int64_t N : {1, 3, 16, 64, 257})
    for (int64_t K : {2, 16, 128, 384, 4096}) {
      Matrix<int8_t> q = randomInt4(N, K, ++seed);
      std::vector<uint8_t> p;
      ASSERT_EQ(packWeights(WeightLayout::RowMajor, q, p), "");
      ASSERT_EQ(static_cast<int64_t>(p.size()), N * K / 2);
      Matrix<int8_t> back;
      ASSERT_EQ(unpackWeights(WeightLayout::RowMajor, p, N, K, back), "");
      ASSERT_EQ(back.data, q.data) << N << "x" << K;
    }
  // Every byte value unpacks and repacks to itself.
  std::vector<uint8_t> all(256);
  for (int b = 0; b < 256; ++b)
    all[b] = static_cast<uint8_t>(b);
  Matrix<int8_t> q;
  ASSERT_EQ(unpackRowMajor(all, 1, 512, q), "");
  std::vector<uint8_t> again;
  ASSERT_EQ(packRowMajor(q, again), "");
  EXPECT_EQ(again, all);
}

TEST(Packing, RejectsBadInput) {
  Matrix<int8_t> odd(2, 3, 0);
  std::vector<uint8_t> p;
  EXPECT_NE(packRowMajor(odd, p).find("even K"), std::string::npos);
  Matrix<int8_t> big(1, 2, 0);
  big.at(0, 1) = 8;
  EXPECT_NE(packRowMajor(big, p).find("out of [-8, 7]"), std::string::npos);
  Matrix<int8_t> q;
  EXPECT_NE(unpackRowMajor(std::vector<uint8_t>(3), 2, 4, q).find("expected"),
            std::string::npos);
}

} // namespace
