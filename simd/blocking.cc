// GEMM blocking derived from the cache sizes that sysfs (or, where a
// virtual machine has no cache entries there, the C library) reports.
#include <unistd.h>

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

// Sizes sysfs reports; 0 for a level it does not list.
CacheSizes ReadCacheSizes() {
  CacheSizes sizes{0, 0, 0};
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

// A sysconf cache size in bytes; 0 when the C library does not know it.
size_t SysconfSize(int name) {
  const long value = sysconf(name);
  return value > 0 ? static_cast<size_t>(value) : 0;
}

}  // namespace

CacheSizes MergeCacheSizes(const CacheSizes& sysfs, const CacheSizes& libc) {
  const CacheSizes defaults;
  auto pick = [](size_t first, size_t second, size_t fallback) {
    return first > 0 ? first : second > 0 ? second : fallback;
  };
  return {pick(sysfs.l1d, libc.l1d, defaults.l1d),
          pick(sysfs.l2, libc.l2, defaults.l2),
          pick(sysfs.l3, libc.l3, defaults.l3)};
}

namespace {

// Some virtual machines expose no cache entries in sysfs; glibc still
// reads the sizes from cpuid.
CacheSizes DetectCacheSizes() {
  const CacheSizes libc{SysconfSize(_SC_LEVEL1_DCACHE_SIZE),
                        SysconfSize(_SC_LEVEL2_CACHE_SIZE),
                        SysconfSize(_SC_LEVEL3_CACHE_SIZE)};
  return MergeCacheSizes(ReadCacheSizes(), libc);
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
  static const CacheSizes sizes = DetectCacheSizes();
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
  // A 6 x 4 tile of 512-bit vectors needs a B row only every 12 cycles, so
  // its micro-panel can stream from L2 (as DefaultPackedBlocking explains):
  // on Zen 5, kc = 512 beat kc = 96 (half of L1) by 2-4 % on the weight
  // gradients' products and 8-16 % on the cubes and input projections
  // (5 shuffled rounds).
  if (wide) b.kc = DeepDepth(sizeof(float) * b.nr * lanes);
  // B blocks as wide as a few thousand columns amortise packing; nc only
  // has to be a whole number of panels.
  b.nc = RoundDown(4096, panel);
  return b;
}

Blocking DefaultPackedBlocking(const KernelTable& kernels) {
  Blocking b = DefaultBlocking(kernels);
  if (b.nr != kPanelVectors) {
    // Weights packed ahead come in panels of kPanelVectors vectors. A tile
    // two vectors wide reads half of every panel row, and kc such half-used
    // lines crowd into half of L1's sets; with 16 vector registers a tile
    // of 3 rows x 4 vectors reads whole rows instead. On Zen 3 (AVX2) it
    // ran 10-18 % faster than 6 x 2 on every shape of the LSTM's input
    // projection and recurrent product.
    b.mr = 3;
    b.nr = kPanelVectors;
  }
  // mc as for a micro-panel that fills L1, which beat mc = 126 by 1-2 %
  // on Zen 3.
  SizeBlocksToCaches(kernels.lanes, 1.0, &b);
  // The micro-panel itself streams from L2 beside the tile's A values in
  // L1: a tile of 3 x 4 (AVX2) or 6 x 4 (AVX-512) vectors needs a panel
  // row from L2 only every 6 or 12 cycles, and every pass over K loads and
  // stores the whole C tile once more. So kc is DeepDepth: as deep as an
  // eighth of L2 holds, at most 512 (512 on both Zen 3's 512 KiB and Zen
  // 5's 1 MiB L2). On Zen 3, kc = 512 beat kc = 256 by 4-5 % on the 512
  // and 1024 cubes, the H = 512 input projection and the B = 64 recurrent
  // product; on Zen 5 (AVX-512), kc = 512 beat kc = 64 by 13-26 % on the
  // input projections and recurrent products of H = 256 and 512.
  b.kc = DeepDepth(sizeof(float) * b.nr * kernels.lanes);
  return b;
}

int DeepDepth(size_t b_row_bytes) {
  return std::min(RoundDown(static_cast<int>(Caches().l2 / 8 / b_row_bytes), 8),
                  512);
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
