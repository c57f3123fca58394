//===- tune_candidates.cpp - qqq-tune's search space ----------------------===//
#include "tune_candidates.h"

#include <algorithm>

namespace qqq::tune {

using codegen::GemmConfig;
using codegen::GemmShape;

std::vector<GemmConfig> candidates(const GemmShape &s, int64_t bucket,
                                   int64_t sms) {
  std::vector<GemmConfig> out;
  GemmConfig def = codegen::defaultConfig(s, bucket, "sm_90a");
  def.maxM = bucket;
  out.push_back(def);
  int64_t m = bucket == 0 ? 4096 : bucket;
  std::vector<int64_t> tms;
  // From M = 32 also half-height token tiles: twice the CTAs for shapes
  // with few weight-row blocks (the second token tile re-reads the weights
  // from L2).
  if (m <= 16)
    tms = {std::max<int64_t>(8, m)};
  else if (m <= 64)
    tms = {m, m / 2};
  else if (bucket == 0)
    tms = {128, 256};
  else if (m <= 128)
    tms = {m, 64, 32};
  else // 256-token tiles too: group 128 at M = 256 and 1024 took them
    tms = {256, 128, 64, 32};
  for (int64_t tm : tms)
    for (int64_t wp : {4, 8, 16})
      for (int64_t tk : {128, 256, 512})
        for (int64_t st : {4, 6, 8})
        for (int64_t sk : {1, 2, 3, 4, 6, 8}) {
          // Small M: one warpgroup, long K tiles and a deeper weight ring
          // (more bytes in flight); from M = 32 on also two or four
          // warpgroups: each CTA re-reads the activation tile from L2, so
          // more weight rows per CTA cut that traffic (with split-K to keep
          // the SMs busy). Large M: two or four warpgroups, shorter K tiles.
          // (split_k need not divide the K tiles: sm90 splits unevenly.)
          // Per group at M <= 16 also two or four warpgroups: the widening
          // (~15 instructions per 8 weights) is the critical path there, and
          // more warps per SM hide its latency. Not above M = 64: one
          // warpgroup per CTA (0.6-0.8x, with or without stream-K) and
          // rings deeper than 4 stages (0.91-0.99x; docs/benchmarks.md).
          bool oneWg = wp == 4 && tk != 128;
          bool manyWg = wp != 4 && tk != 512 && st == 4;
          bool smallManyWg = m >= 32 || s.groupSize > 0;
          if (m <= 64 ? !(oneWg || (smallManyWg && manyWg)) : !manyWg)
            continue;
          GemmConfig c = def; // arch and swap_ab; the rest is set here
          c.streamK = 0;      // (the default may be stream-K from M = 512)
          c.tileM = tm;
          c.warps = wp;
          c.tileN = 16 * wp;
          c.tileK = tk;
          c.stages = st;
          c.splitK = sk;
          if (codegen::whyInvalid(c, s))
            continue;
          int64_t ctas = s.N / c.tileN * ((m + tm - 1) / tm);
          // Split-K only towards 1..4 waves of CTAs; at M <= 64 also from
          // one wave up (more CTAs per SM hide the pipeline's latency).
          if (sk > 1 && (ctas * sk > 4 * 132 || (ctas >= 132 && m > 64)))
            continue;
          // Stream-K (one persistent CTA per SM) where whole tiles would
          // leave more than a tenth of the last wave's SMs idle: it spreads
          // the K iterations of every tile evenly. (Until the fifteenth
          // session the rule counted the idle SMs against all waves, so a
          // 6.8-wave grid such as the fused LLaMA-2-70B gate/up at M = 512
          // got no stream-K candidate.)
          int64_t waves = (ctas + sms - 1) / sms;
          int64_t lastWave = ctas - (waves - 1) * sms;
          if (sk == 1 && bucket != 0 && ctas <= 16 * sms &&
              lastWave < 0.9 * sms) {
            GemmConfig sc = c;
            sc.streamK = sms;
            sc.maxM = bucket;
            if (!codegen::whyInvalid(sc, s) &&
                std::find(out.begin(), out.end(), sc) == out.end())
              out.push_back(sc);
          }
          if (sk == 1 && ctas < 33)
            continue;
          if (std::find(out.begin(), out.end(), c) == out.end())
            out.push_back(c);
        }
  // Each one-CTA-per-tile candidate with several token tiles per weight
  // block also runs them first (token_tiles_first): whether a block's
  // token tiles should run side by side depends on the shape and tile
  // (fifteenth session: 0.93-1.12x per entry, about 1.0 in the mean).
  size_t searched = out.size();
  for (size_t i = 0; i < searched; ++i) {
    GemmConfig c = out[i];
    if (c.streamK > 0 || (m + c.tileM - 1) / c.tileM < 2)
      continue;
    c.tokenTilesFirst = true;
    if (!codegen::whyInvalid(c, s) &&
        std::find(out.begin(), out.end(), c) == out.end())
      out.push_back(c);
  }
  return out;
}

} // namespace qqq::tune
