// GEMM blocking derived from the cache sizes that sysfs reports.
#include <algorithm>
#include <fstream>
#include <string>

#include "kernels.h"

namespace lstmkit::kernels {

namespace {

// "32K", "1024K" or "8M" -> bytes; 0 when unreadable.
size_t ParseSize(const std::string& text) {
  size_t value = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + (text[i++] - '0');
  }
  if (i < text.size() && text[i] == 'K') value *= 1024;
  if (i < text.size() && text[i] == 'M') value *= 1024 * 1024;
  return value;
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

CacheSizes ReadCacheSizes() {
  CacheSizes sizes;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" +
                            std::to_string(index) + "/";
    const std::string level = ReadLine(dir + "level");
    const std::string type = ReadLine(dir + "type");
    const size_t size = ParseSize(ReadLine(dir + "size"));
    if (size == 0) continue;
    if (level == "1" && type == "Data") sizes.l1d = size;
    if (level == "2" && type != "Instruction") sizes.l2 = size;
    if (level == "3" && type != "Instruction") sizes.l3 = size;
  }
  return sizes;
}

int RoundDown(int value, int multiple) {
  return std::max(multiple, value / multiple * multiple);
}

// kc so that one B micro-panel (kc x nr vectors) takes `l1_share` of L1,
// and mc so that the packed A block (mc x kc) takes half of L2.
void SizeBlocksToCaches(int lanes, double l1_share, Blocking* b) {
  const size_t b_row_bytes = sizeof(float) * b->nr * lanes;
  b->kc = std::min(
      RoundDown(static_cast<int>(Caches().l1d * l1_share / b_row_bytes), 8),
      384);
  b->mc = RoundDown(static_cast<int>(Caches().l2 / 2 / (sizeof(float) * b->kc)),
                    b->mr);
}

}  // namespace

const CacheSizes& Caches() {
  static const CacheSizes sizes = ReadCacheSizes();
  return sizes;
}

Blocking DefaultBlocking(const KernelTable& kernels) {
  const int lanes = kernels.lanes;
  Blocking b;
  // Tiles that fit the register file with the B vectors and a broadcast:
  // 6 x 4 vectors with 32 registers (AVX-512), 6 x 2 with 16.
  const bool wide = lanes >= 16;
  b.nr = wide ? kPanelVectors : 2;
  b.mr = 6;
  const int panel = kPanelVectors * lanes;
  // Half of L1 for the B micro-panel leaves room for the A micro-panel and
  // C.
  SizeBlocksToCaches(lanes, 0.5, &b);
  // B blocks as wide as a few thousand columns amortise packing; nc only
  // has to be a whole number of panels.
  b.nc = RoundDown(4096, panel);
  return b;
}

Blocking DefaultPackedBlocking(const KernelTable& kernels) {
  Blocking b = DefaultBlocking(kernels);
  if (b.nr == kPanelVectors) return b;
  // Weights packed ahead come in panels of kPanelVectors vectors. A tile
  // two vectors wide reads half of every panel row, and kc such half-used
  // lines crowd into half of L1's sets; with 16 vector registers a tile of
  // 3 rows x 4 vectors reads whole rows instead. On Zen 3 (AVX2) it ran
  // 10-18 % faster than 6 x 2 on every shape of the LSTM's input projection
  // and recurrent product, and kc = 256 (the micro-panel filling L1) beat
  // kc = 128 by 5-9 %.
  b.mr = 3;
  b.nr = kPanelVectors;
  SizeBlocksToCaches(kernels.lanes, 1.0, &b);
  // A micro-panel of twice L1 (kc = 512 on AVX2) streams from L2 beside
  // the tile's three A values in L1 and halves the passes over C where K
  // is 512: 4-5 % faster on the 512 and 1024 cubes, the H = 512 input
  // projection and the B = 64 recurrent product (Zen 3, 5 interleaved
  // repetitions). mc stays sized for the smaller kc, which beat mc = 126
  // by 1-2 %.
  b.kc = std::min(2 * b.kc, 512);
  return b;
}

std::vector<Blocking> TileCandidates(const KernelTable& kernels) {
  const Blocking base = DefaultBlocking(kernels);
  std::vector<Blocking> out;
  const bool wide = kernels.lanes >= 16;
  const int max_accumulators = wide ? 28 : 14;
  for (int nr : {1, 2, 4}) {
    for (int mr = 1; mr <= kMaxTileRows; ++mr) {
      if (mr * nr > max_accumulators || mr * nr < 4) continue;
      Blocking b = base;
      b.mr = mr;
      b.nr = nr;
      b.mc = RoundDown(base.mc, mr);
      out.push_back(b);
    }
  }
  return out;
}

}  // namespace lstmkit::kernels
