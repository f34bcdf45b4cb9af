// Every kernel of every compiled Highway target against scalar references in
// double, at sizes that are multiples of no vector or tile, and with every
// blocking a tuner may choose.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#ifndef LSTMKIT_KERNELS_TEST_ONCE
#define LSTMKIT_KERNELS_TEST_ONCE
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "hwy/tests/hwy_gtest.h"
#include "kernels.h"
#include "test_util.h"

namespace lstmkit::kernels::testing_support {

const KernelTable& TableFor(int64_t target) {
  for (const KernelTable* t : SupportedKernelTables()) {
    if (t->target == target) return *t;
  }
  ADD_FAILURE() << "the library has no kernels for " << hwy::TargetName(target);
  return *SupportedKernelTables().front();
}

constexpr int kRaggedSizes[] = {1, 3, 17, 63, 129};
// Past the end of every written range, so stray writes are seen.
constexpr float kCanary = -12345.0f;

// The forward error bound of a K-term dot product summed in order in f32
// (gamma_{K+2} times the sum of |terms|), with the unit roundoff 2^-24.
double DotErrorBound(int k, double sum_abs) {
  return (k + 2) * std::ldexp(1.0, -24) * sum_abs + 1e-30;
}

// Blockings a tuner may pick: every tile shape, and kc/mc/nc from tiny to
// large, including sizes that split K, M and N unevenly.
std::vector<Blocking> AllBlockings(const KernelTable& kt) {
  std::vector<Blocking> out;
  const int pw = kPanelVectors * kt.lanes;
  for (const Blocking& tile : TileCandidates(kt)) {
    for (int kc : {1, 7, 64, 256}) {
      for (int mc_tiles : {1, 3, 40}) {
        for (int nc : {pw, 3 * pw, 4096}) {
          Blocking b = tile;
          b.kc = kc;
          b.mc = mc_tiles * tile.mr;
          b.nc = nc;
          out.push_back(b);
        }
      }
    }
  }
  return out;
}

}  // namespace lstmkit::kernels::testing_support
#endif  // LSTMKIT_KERNELS_TEST_ONCE

HWY_BEFORE_NAMESPACE();
namespace lstmkit::kernels::HWY_NAMESPACE {

using namespace lstmkit::kernels::testing_support;  // NOLINT
using lstmkit::testing::RandomVector;

// A GEMM problem in all three storage forms the model uses.
struct GemmCase {
  int m, n, k;
  bool a_transposed;  // A stored [K][M]
  bool b_transposed;  // B stored [N][K]
};

// C = beta * C0 + A * B in double, with the sum of |terms| per element.
void ReferenceGemm(const GemmCase& g, const std::vector<float>& a,
                   const std::vector<float>& b, float beta,
                   const std::vector<float>& c0, int ldc,
                   std::vector<double>* c, std::vector<double>* sum_abs) {
  c->assign(static_cast<size_t>(g.m) * g.n, 0.0);
  sum_abs->assign(c->size(), 0.0);
  for (int i = 0; i < g.m; ++i) {
    for (int j = 0; j < g.n; ++j) {
      double sum = beta == 0.0f ? 0.0 : c0[static_cast<size_t>(i) * ldc + j];
      double abs = std::abs(sum);
      for (int p = 0; p < g.k; ++p) {
        const double av = g.a_transposed ? a[static_cast<size_t>(p) * g.m + i]
                                         : a[static_cast<size_t>(i) * g.k + p];
        const double bv = g.b_transposed ? b[static_cast<size_t>(j) * g.k + p]
                                         : b[static_cast<size_t>(p) * g.n + j];
        sum += av * bv;
        abs += std::abs(av * bv);
      }
      (*c)[static_cast<size_t>(i) * g.n + j] = sum;
      (*sum_abs)[static_cast<size_t>(i) * g.n + j] = abs;
    }
  }
}

// Runs one GEMM; packed_b selects gemm_packed over gemm.
std::vector<float> RunGemm(const KernelTable& kt, const GemmCase& g,
                           const std::vector<float>& a,
                           const std::vector<float>& b, float beta,
                           const std::vector<float>& c0, int ldc, bool packed_b,
                           const Blocking& blk) {
  const MatrixA ma =
      g.a_transposed ? MatrixA{a.data(), 1, g.m} : MatrixA{a.data(), g.k, 1};
  const MatrixB mb =
      g.b_transposed ? MatrixB{b.data(), 1, g.k} : MatrixB{b.data(), g.n, 1};
  std::vector<float> c = c0;
  if (packed_b) {
    PackedB packed;
    PackPanels(
        g.k, g.n, kPanelVectors * kt.lanes,
        [&](int kk, int nn) {
          return mb.data[kk * mb.k_stride + nn * mb.n_stride];
        },
        &packed);
    kt.gemm_packed(g.m, g.n, g.k, ma, packed, beta, c.data(), ldc, blk);
  } else {
    kt.gemm(g.m, g.n, g.k, ma, mb, beta, c.data(), ldc, blk);
  }
  return c;
}

void CheckGemmCase(const KernelTable& kt, const GemmCase& g, bool packed_b,
                   float beta, const std::vector<Blocking>& blockings) {
  const int ldc = g.n + 5;
  const auto a = RandomVector(static_cast<size_t>(g.m) * g.k, 11);
  const auto b = RandomVector(static_cast<size_t>(g.k) * g.n, 12);
  std::vector<float> c0 = RandomVector(static_cast<size_t>(g.m) * ldc, 13);
  // NaN in C must vanish when beta is 0: C is overwritten, not scaled.
  if (beta == 0.0f)
    c0.assign(c0.size(), std::numeric_limits<float>::quiet_NaN());
  for (int i = 0; i < g.m; ++i) {
    for (int j = g.n; j < ldc; ++j)
      c0[static_cast<size_t>(i) * ldc + j] = kCanary;
  }
  std::vector<double> ref, sum_abs;
  ReferenceGemm(g, a, b, beta, c0, ldc, &ref, &sum_abs);
  const std::vector<float> first =
      RunGemm(kt, g, a, b, beta, c0, ldc, packed_b, blockings.front());
  for (int i = 0; i < g.m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      const size_t at = static_cast<size_t>(i) * ldc + j;
      if (j >= g.n) {
        ASSERT_EQ(first[at], kCanary) << "wrote past column " << g.n;
        continue;
      }
      const size_t r = static_cast<size_t>(i) * g.n + j;
      ASSERT_LE(std::abs(first[at] - ref[r]), DotErrorBound(g.k, sum_abs[r]))
          << kt.name << " m=" << g.m << " n=" << g.n << " k=" << g.k << " at ("
          << i << "," << j << ")";
    }
  }
  for (const Blocking& blk : blockings) {
    const std::vector<float> c =
        RunGemm(kt, g, a, b, beta, c0, ldc, packed_b, blk);
    ASSERT_EQ(0, std::memcmp(c.data(), first.data(), c.size() * sizeof(float)))
        << kt.name << ": blocking mr=" << blk.mr << " nr=" << blk.nr
        << " kc=" << blk.kc << " mc=" << blk.mc << " nc=" << blk.nc
        << " changed the bits of m=" << g.m << " n=" << g.n << " k=" << g.k;
  }
}

void TestGemmMatchesReferenceForAnyBlocking() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  const std::vector<Blocking> blockings = AllBlockings(kt);
  for (int m : kRaggedSizes) {
    for (int n : kRaggedSizes) {
      for (int k : kRaggedSizes) {
        for (bool packed_b : {true, false}) {
          // Each form of B with the blocking the model gives it.
          const std::vector<Blocking> blocking = {
              packed_b ? DefaultPackedBlocking(kt) : DefaultBlocking(kt)};
          // The three forms the model uses: A B^T, A B and A^T B.
          CheckGemmCase(kt, {m, n, k, false, true}, packed_b, 0.0f, blocking);
          CheckGemmCase(kt, {m, n, k, false, false}, packed_b, 1.0f, blocking);
          CheckGemmCase(kt, {m, n, k, true, false}, packed_b, 0.0f, blocking);
        }
      }
    }
  }
  // Every blocking on shapes that split each dimension unevenly.
  for (const GemmCase& g : {GemmCase{67, 129, 263, false, true},
                            GemmCase{129, 63, 300, true, false}}) {
    CheckGemmCase(kt, g, true, 1.0f, blockings);
    CheckGemmCase(kt, g, false, 0.0f, blockings);
  }
  // K deeper than twice the default depth block (kc = 512 on AVX2), which
  // splits it unevenly, against shallower splits.
  const Blocking deep = DefaultPackedBlocking(kt);
  std::vector<Blocking> depths;
  for (int kc : {deep.kc, 256, 7}) {
    Blocking b = deep;
    b.kc = kc;
    depths.push_back(b);
  }
  CheckGemmCase(kt, {23, 70, 2 * deep.kc + 37, false, true}, true, 1.0f,
                depths);
}

// m distinct stored rows out of 0..stored-1, in a scrambled order: a map
// that skips rows, as the gate-interleaved padding is skipped. Neighbours
// swapped, then the second half reversed: a permutation by construction.
std::vector<int> ScrambledRows(int m, int stored) {
  std::vector<int> rows(stored);
  std::iota(rows.begin(), rows.end(), 0);
  for (int i = 0; i + 1 < stored; i += 2) std::swap(rows[i], rows[i + 1]);
  std::reverse(rows.begin() + stored / 2, rows.end());
  rows.resize(m);
  return rows;
}

// A GEMM whose A rows come through a row_map must be bitwise the GEMM of A
// with those rows copied out, for A stored either way and either form of B.
void CheckRowMapCase(const KernelTable& kt, int m, int n, int k,
                     const std::vector<Blocking>& blockings) {
  // Seven stored rows that the map leaves out.
  const int stored = m + 7;
  const std::vector<int> map = ScrambledRows(m, stored);
  const auto a = RandomVector(static_cast<size_t>(stored) * k, 51);
  const auto b = RandomVector(static_cast<size_t>(k) * n, 52);
  PackedB packed;
  PackPanels(
      k, n, kPanelVectors * kt.lanes,
      [&](int kk, int nn) { return b[static_cast<size_t>(kk) * n + nn]; },
      &packed);
  for (bool by_column : {false, true}) {
    // Element (row, kk) of the stored A, and of the copied-out one.
    auto at = [&](int rows, int row, int kk) {
      return by_column ? static_cast<size_t>(kk) * rows + row
                       : static_cast<size_t>(row) * k + kk;
    };
    std::vector<float> gathered(static_cast<size_t>(m) * k);
    for (int i = 0; i < m; ++i) {
      for (int kk = 0; kk < k; ++kk) {
        gathered[at(m, i, kk)] = a[at(stored, map[i], kk)];
      }
    }
    MatrixA mapped =
        by_column ? MatrixA{a.data(), 1, stored} : MatrixA{a.data(), k, 1};
    mapped.row_map = map.data();
    const MatrixA plain = by_column ? MatrixA{gathered.data(), 1, m}
                                    : MatrixA{gathered.data(), k, 1};
    for (const Blocking& blk : blockings) {
      const int ldc = n + 2;
      std::vector<float> want(static_cast<size_t>(m) * ldc, kCanary);
      std::vector<float> got = want;
      kt.gemm(m, n, k, plain, {b.data(), n, 1}, 0.0f, want.data(), ldc, blk);
      kt.gemm(m, n, k, mapped, {b.data(), n, 1}, 0.0f, got.data(), ldc, blk);
      ASSERT_EQ(
          0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << kt.name << " gemm m=" << m << " n=" << n << " k=" << k
          << " by column " << by_column << " mr=" << blk.mr;
      kt.gemm_packed(m, n, k, plain, packed, 0.0f, want.data(), ldc, blk);
      kt.gemm_packed(m, n, k, mapped, packed, 0.0f, got.data(), ldc, blk);
      ASSERT_EQ(
          0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)))
          << kt.name << " gemm_packed m=" << m << " n=" << n << " k=" << k
          << " by column " << by_column << " mr=" << blk.mr;
    }
  }
}

void TestGemmRowMapMatchesCopiedRows() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int m : kRaggedSizes) {
    for (int n : kRaggedSizes) {
      for (int k : kRaggedSizes) {
        CheckRowMapCase(kt, m, n, k,
                        {DefaultBlocking(kt), DefaultPackedBlocking(kt)});
      }
    }
  }
  CheckRowMapCase(kt, 19, 70, 70, AllBlockings(kt));
}

// Products sharing one A must each be bitwise what gemm_packed gives alone
// (beta 0), with B packed ahead in panels of either width, and what gemm
// gives alone with B packed during the call; for A stored either way and
// through a row map, K = 0 included, leaving C's padding alone.
// Without every_form, only what the weight gradients run: A column-major
// through a row map, B unpacked or packed one tile wide.
void CheckSharedACase(const KernelTable& kt, int m, int k, int n0, int n1,
                      const std::vector<Blocking>& blockings, bool every_form) {
  const int stored = m + 5;
  const std::vector<int> map = ScrambledRows(m, stored);
  const auto a = RandomVector(static_cast<size_t>(stored) * k, 61);
  const int n[2] = {n0, n1};
  const int ldc[2] = {n0 + 3, n1 + 1};
  std::vector<float> b[2];
  for (int q = 0; q < 2; ++q) {
    b[q] = RandomVector(static_cast<size_t>(k) * n[q], 62 + q);
  }
  for (const Blocking& blk : blockings) {
    // Panel width 0: B unpacked, packed by the call itself.
    for (int pw : {0, blk.nr * kt.lanes, kPanelVectors * kt.lanes}) {
      if (!every_form && pw == kPanelVectors * kt.lanes) continue;
      PackedB packed[2];
      for (int q = 0; q < 2 && pw > 0; ++q) {
        PackPanels(
            k, n[q], pw,
            [&](int kk, int nn) {
              return b[q][static_cast<size_t>(kk) * n[q] + nn];
            },
            &packed[q]);
      }
      for (int form = every_form ? 0 : 2; form < 3; ++form) {
        MatrixA ma =
            form == 0 ? MatrixA{a.data(), k, 1} : MatrixA{a.data(), 1, stored};
        if (form == 2) ma.row_map = map.data();
        std::vector<float> want[2], got[2];
        SharedAProduct products[2];
        for (int q = 0; q < 2; ++q) {
          want[q].assign(static_cast<size_t>(m) * ldc[q], kCanary);
          got[q] = want[q];
          const MatrixB mb{b[q].data(), n[q], 1};
          if (pw == 0) {
            kt.gemm(m, n[q], k, ma, mb, 0.0f, want[q].data(), ldc[q], blk);
          } else {
            kt.gemm_packed(m, n[q], k, ma, packed[q], 0.0f, want[q].data(),
                           ldc[q], blk);
            products[q].packed = packed[q];
          }
          products[q].b = mb;
          products[q].n = n[q];
          products[q].c = got[q].data();
          products[q].ldc = ldc[q];
        }
        kt.gemm_shared_a(m, k, ma, products, 2, blk);
        for (int q = 0; q < 2; ++q) {
          ASSERT_EQ(0, std::memcmp(got[q].data(), want[q].data(),
                                   got[q].size() * sizeof(float)))
              << kt.name << " product " << q << " m=" << m << " k=" << k
              << " n=" << n[q] << " form " << form << " pw=" << pw
              << " mr=" << blk.mr << " kc=" << blk.kc;
        }
      }
    }
  }
}

void TestGemmSharedAMatchesSeparateProducts() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int m : kRaggedSizes) {
    for (int k : {0, 17, 129}) {
      for (int n : {1, 129}) {
        CheckSharedACase(kt, m, k, n, n == 1 ? 63 : n - 1,
                         {DefaultBlocking(kt), DefaultPackedBlocking(kt)},
                         true);
      }
    }
  }
  // K = 70 and 19 rows cross every blocking's kc and mc, so later K blocks
  // must start from C and every row block must be packed for both products.
  CheckSharedACase(kt, 19, 70, 70, 33, AllBlockings(kt), false);
}

// C = row_init + A B must be bitwise what filling C with row_init and
// accumulating onto it gives, for one row (the GEMV path), K = 0, ragged
// sizes and every blocking, without touching columns past N.
void CheckRowInitCase(const KernelTable& kt, int m, int n, int k,
                      const std::vector<Blocking>& blockings) {
  const int ldc = n + 3;
  const auto a = RandomVector(static_cast<size_t>(m) * k, 21);
  const auto b = RandomVector(static_cast<size_t>(k) * n, 22);
  const auto row_init = RandomVector(n, 23);
  PackedB packed;
  PackPanels(
      k, n, kPanelVectors * kt.lanes,
      [&](int kk, int nn) { return b[static_cast<size_t>(nn) * k + kk]; },
      &packed);
  const MatrixA ma{a.data(), k, 1};
  for (const Blocking& blk : blockings) {
    std::vector<float> expected(static_cast<size_t>(m) * ldc, kCanary);
    for (int i = 0; i < m; ++i) {
      std::copy_n(row_init.data(), n,
                  expected.data() + static_cast<size_t>(i) * ldc);
    }
    kt.gemm_packed(m, n, k, ma, packed, 1.0f, expected.data(), ldc, blk);
    std::vector<float> c(expected.size(), kCanary);
    for (int i = 0; i < m; ++i) {
      // Whatever C held must not matter.
      std::fill_n(c.data() + static_cast<size_t>(i) * ldc, n,
                  std::numeric_limits<float>::quiet_NaN());
    }
    kt.gemm_packed_row_init(m, n, k, ma, packed, row_init.data(), c.data(), ldc,
                            blk);
    ASSERT_EQ(0,
              std::memcmp(c.data(), expected.data(), c.size() * sizeof(float)))
        << kt.name << " m=" << m << " n=" << n << " k=" << k << " mr=" << blk.mr
        << " kc=" << blk.kc;
  }
}

void TestGemmRowInitMatchesFillThenAccumulate() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int m : kRaggedSizes) {
    for (int n : kRaggedSizes) {
      for (int k : {0, 1, 17, 129}) {
        CheckRowInitCase(kt, m, n, k,
                         {DefaultBlocking(kt), DefaultPackedBlocking(kt)});
      }
    }
  }
  // Every blocking on a shape that each of them splits: K = 70 crosses kc 1,
  // 7 and 64, so later K blocks must start from C, not from row_init.
  CheckRowInitCase(kt, 19, 70, 70, AllBlockings(kt));
}

// The bfloat16 kernels must give exactly what the f32 kernels give on the
// widened weights.
void TestBF16KernelsMatchF32OnWidenedWeights() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  const int pw = kPanelVectors * kt.lanes;
  for (int n : kRaggedSizes) {
    for (int k : kRaggedSizes) {
      const auto w = RandomVector(static_cast<size_t>(k) * n, 41);
      auto get = [&](int kk, int nn) {
        return w[static_cast<size_t>(kk) * n + nn];
      };
      PackedBF16 half;
      PackPanelsBF16(k, n, pw, get, &half);
      PackedB widened;
      PackPanels(
          k, n, pw,
          [&](int kk, int nn) { return WidenBF16(RoundToBF16(get(kk, nn))); },
          &widened);
      const auto x = RandomVector(k, 42);
      const auto bias = RandomVector(n, 47);
      // From zero, and from a start row of its own.
      for (const float* init :
           {static_cast<const float*>(nullptr), bias.data()}) {
        std::vector<float> y_half(n + 1, kCanary), y_full(n + 1, kCanary);
        kt.gemv_packed_bf16(n, k, x.data(), half.Panels(0, half.panels()), init,
                            y_half.data());
        kt.gemv_packed(n, k, x.data(), widened, init, y_full.data());
        ASSERT_EQ(y_half, y_full) << kt.name << " n=" << n << " k=" << k;
        ASSERT_EQ(y_half.back(), kCanary);
      }
    }
  }
  for (int hidden : kRaggedSizes) {
    for (int batch : {1, 3, 7}) {
      const int lanes = kt.lanes;
      const int width = (hidden + lanes - 1) / lanes * kPanelVectors * lanes;
      const auto w = RandomVector(static_cast<size_t>(hidden) * width, 43);
      auto get = [&](int kk, int nn) {
        return w[static_cast<size_t>(kk) * width + nn];
      };
      PackedBF16 half;
      PackPanelsBF16(hidden, width, pw, get, &half);
      PackedB widened;
      PackPanels(
          hidden, width, pw,
          [&](int kk, int nn) { return WidenBF16(RoundToBF16(get(kk, nn))); },
          &widened);
      const auto h_prev = RandomVector(static_cast<size_t>(batch) * hidden, 44);
      const auto c_prev = RandomVector(h_prev.size(), 45);
      const auto gates = RandomVector(static_cast<size_t>(batch) * width, 46);
      std::vector<float> out[2][4];
      for (int use_half = 0; use_half < 2; ++use_half) {
        std::vector<float> g = gates;
        std::vector<float> c(h_prev.size()), h(h_prev.size()),
            tc(h_prev.size());
        LstmStepArgs args;
        args.batch = batch;
        args.hidden = hidden;
        args.h_prev = StateRows::Contiguous(h_prev.data(), hidden);
        args.w_hh = &widened;
        args.w_hh_bf16 = use_half ? &half : nullptr;
        args.gates = g.data();
        args.gate_stride = width;
        args.c_prev = StateRows::Contiguous(c_prev.data(), hidden);
        args.c = c.data();
        args.h = h.data();
        args.tanh_c = tc.data();
        args.mr = std::min(batch, 6);
        kt.lstm_step(args);
        out[use_half][0] = g;
        out[use_half][1] = c;
        out[use_half][2] = h;
        out[use_half][3] = tc;
      }
      for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(out[0][i], out[1][i]) << kt.name << " H=" << hidden;
      }
    }
  }
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Interleaved column of gate q of unit u.
int GateColumn(int q, int u, int lanes) {
  return u / lanes * kPanelVectors * lanes + q * lanes + u % lanes;
}

// Random recurrent weights [H][gate width] (in w) and their panels.
PackedB RandomRecurrentWeights(const KernelTable& kt, int hidden, int seed,
                               std::vector<float>* w) {
  const int panels = (hidden + kt.lanes - 1) / kt.lanes;
  const int width = panels * kPanelVectors * kt.lanes;
  *w = RandomVector(static_cast<size_t>(hidden) * width, seed, -0.3f, 0.3f);
  PackedB packed;
  PackPanels(
      hidden, width, kPanelVectors * kt.lanes,
      [&](int k, int n) { return (*w)[static_cast<size_t>(k) * width + n]; },
      &packed);
  return packed;
}

void CheckLstmStep(const KernelTable& kt, int batch, int hidden, int mr,
                   bool store_gates) {
  const int lanes = kt.lanes;
  const int panels = (hidden + lanes - 1) / lanes;
  const int width = panels * kPanelVectors * lanes;
  std::vector<float> w;
  const PackedB packed = RandomRecurrentWeights(kt, hidden, 21, &w);
  const auto h_prev = RandomVector(static_cast<size_t>(batch) * hidden, 22);
  const auto c_prev = RandomVector(h_prev.size() + 1, 23, -2.0f, 2.0f);
  const auto gates_in =
      RandomVector(static_cast<size_t>(batch) * width, 24, -3.0f, 3.0f);
  std::vector<float> gates = gates_in;
  std::vector<float> c(h_prev.size() + 1, kCanary), h = c, tanh_c = c;
  LstmStepArgs args;
  args.batch = batch;
  args.hidden = hidden;
  args.h_prev = StateRows::Contiguous(h_prev.data(), hidden);
  args.w_hh = &packed;
  args.gates = gates.data();
  args.gate_stride = width;
  args.store_gates = store_gates;
  args.c_prev = StateRows::Contiguous(c_prev.data(), hidden);
  args.c = c.data();
  args.h = h.data();
  args.tanh_c = tanh_c.data();
  args.mr = mr;
  kt.lstm_step(args);
  // Sums of |a| bound the GEMM error; activations add about 1e-7.
  for (int b = 0; b < batch; ++b) {
    for (int u = 0; u < hidden; ++u) {
      double act[4], bound = 0.0;
      for (int q = 0; q < 4; ++q) {
        const int col = GateColumn(q, u, lanes);
        double a = gates_in[static_cast<size_t>(b) * width + col],
               abs = std::abs(a);
        for (int k = 0; k < hidden; ++k) {
          const double term =
              double{h_prev[static_cast<size_t>(b) * hidden + k]} *
              w[static_cast<size_t>(k) * width + col];
          a += term;
          abs += std::abs(term);
        }
        bound = std::max(bound, DotErrorBound(hidden, abs));
        act[q] = q == 2 ? std::tanh(a) : Sigmoid(a);
      }
      const size_t s = static_cast<size_t>(b) * hidden + u;
      const double c_ref = act[1] * c_prev[s] + act[0] * act[2];
      const double tol = 4 * bound + 1e-6;
      ASSERT_NEAR(c[s], c_ref, tol)
          << kt.name << " B=" << batch << " H=" << hidden;
      ASSERT_NEAR(tanh_c[s], std::tanh(c_ref), tol);
      ASSERT_NEAR(h[s], act[3] * std::tanh(c_ref), tol);
      for (int q = 0; q < 4 && store_gates; ++q) {
        const size_t at =
            static_cast<size_t>(b) * width + GateColumn(q, u, lanes);
        ASSERT_NEAR(gates[at], act[q], tol);
      }
    }
  }
  ASSERT_EQ(c.back(), kCanary);
  ASSERT_EQ(h.back(), kCanary);
  ASSERT_EQ(tanh_c.back(), kCanary);
}

void TestLstmStepMatchesReference() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int hidden : kRaggedSizes) {
    for (int batch : {1, 2, 5, 9}) {
      for (int mr = 1; mr <= kMaxTileRows; ++mr) {
        CheckLstmStep(kt, batch, hidden, mr, mr % 2 == 0);
      }
    }
  }
}

// Everything one step writes, for comparing two ways of running it.
struct StepOutputs {
  std::vector<float> gates, c, h, tanh_c;
  bool operator==(const StepOutputs& o) const {
    auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
      return a.size() == b.size() &&
             std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    return same(gates, o.gates) && same(c, o.c) && same(h, o.h) &&
           same(tanh_c, o.tanh_c);
  }
};

// A step's random inputs: W_hh, h_prev's rows in two buffers (as a
// reverse direction's are), c_prev.
struct StepInputs {
  std::vector<float> w, h_first, h_rest, c_prev;
  PackedB w_hh;
  StepInputs(const KernelTable& kt, int batch, int hidden, int seed) {
    w_hh = RandomRecurrentWeights(kt, hidden, seed, &w);
    h_first = RandomVector(static_cast<size_t>(batch) * hidden, seed + 1);
    h_rest = RandomVector(h_first.size(), seed + 2);
    c_prev = RandomVector(h_first.size(), seed + 3, -2.0f, 2.0f);
  }
};

// The arguments of one step over panels [first, first + count) with
// h_prev's rows split at `split`, writing into `out` (c, h and tanh_c
// start as canaries; the gates as they are).
LstmStepArgs StepArgsInto(const StepInputs& in, int batch, int hidden,
                          int split, int first, int count, int width,
                          StepOutputs* out) {
  out->c.assign(in.h_first.size(), kCanary);
  out->h = out->tanh_c = out->c;
  LstmStepArgs args;
  args.batch = batch;
  args.hidden = hidden;
  args.h_prev = {in.h_first.data(), in.h_rest.data(), split, hidden};
  args.w_hh = &in.w_hh;
  args.first_panel = first;
  args.panel_count = count;
  args.gates = out->gates.data();
  args.gate_stride = width;
  args.c_prev = StateRows::Contiguous(in.c_prev.data(), hidden);
  args.c = out->c.data();
  args.h = out->h.data();
  args.tanh_c = out->tanh_c.data();
  return args;
}

// One step over panels [first, first + count) with h_prev's rows split at
// `split` between two buffers, through the fused tiles (blocking null) or
// the GEMM.
StepOutputs RunStep(const KernelTable& kt, int batch, int hidden, int first,
                    int count, int split, const Blocking* blocking,
                    bool reverse_panels = false) {
  const int panels = (hidden + kt.lanes - 1) / kt.lanes;
  const int width = panels * kPanelVectors * kt.lanes;
  const StepInputs in(kt, batch, hidden, 41);
  StepOutputs out;
  out.gates = RandomVector(static_cast<size_t>(batch) * width, 45, -3.0f, 3.0f);
  LstmStepArgs args =
      StepArgsInto(in, batch, hidden, split, first, count, width, &out);
  args.store_gates = true;
  args.mr = 6;
  args.gemm_blocking = blocking;
  args.reverse_panels = reverse_panels;
  kt.lstm_step(args);
  return out;
}

// Walking the panels last to first changes no value, with an odd panel
// left over or not, for a whole step or a slice of it.
void TestLstmStepReversedPanelsMatchForwardOrder() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int hidden : {1, 17, 63, 129}) {
    const int panels = (hidden + kt.lanes - 1) / kt.lanes;
    for (int batch : {1, 3}) {
      for (const auto& [first, count] :
           {std::pair{0, panels}, std::pair{panels / 2, panels - panels / 2},
            std::pair{1, panels - 1}}) {
        const StepOutputs forward =
            RunStep(kt, batch, hidden, first, count, 1 << 30, nullptr);
        ASSERT_TRUE(RunStep(kt, batch, hidden, first, count, 1 << 30, nullptr,
                            /*reverse_panels=*/true) == forward)
            << kt.name << " H=" << hidden << " B=" << batch << " panels "
            << first << "+" << count;
      }
    }
  }
}

// From kMinRowsForStepGemm rows the recurrent product runs as a GEMM; it
// must write exactly what the fused tiles write, for panel ranges, rows
// split between two buffers and any blocking.
void TestLstmStepAsGemmMatchesFusedTiles() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  std::vector<Blocking> blockings = {DefaultPackedBlocking(kt)};
  for (const Blocking& tile : TileCandidates(kt)) {
    Blocking b = tile;
    b.kc = 7;
    b.mc = 2 * tile.mr;
    blockings.push_back(b);
  }
  for (int hidden : {1, 17, 63, 129}) {
    const int panels = (hidden + kt.lanes - 1) / kt.lanes;
    for (int batch : {kMinRowsForStepGemm, 23, 40}) {
      for (int split : {1 << 30, 0, 7}) {
        for (const auto& [first, count] :
             {std::pair{0, panels},
              std::pair{panels / 2, panels - panels / 2}}) {
          const StepOutputs fused =
              RunStep(kt, batch, hidden, first, count, split, nullptr);
          for (const Blocking& b : blockings) {
            ASSERT_TRUE(RunStep(kt, batch, hidden, first, count, split, &b) ==
                        fused)
                << kt.name << " H=" << hidden << " B=" << batch
                << " split=" << split << " panels " << first << "+" << count
                << " mr=" << b.mr << " nr=" << b.nr << " kc=" << b.kc;
          }
        }
      }
    }
  }
}

// A step that takes its input projection (args.x) must write bitwise what
// the GEMM over the projection (bias + x W_ih^T) followed by the step
// writes: for inputs and hidden sizes that fill no vector, every tile
// height, one row and many, panel slices and h_prev split between two
// buffers. Outside a slice neither touches c, h or tanh_c; the gates are
// compared on the slice's columns.
void CheckStepWithInput(const KernelTable& kt, int batch, int input, int hidden,
                        int mr, int first, int count, int split) {
  const int pw = kPanelVectors * kt.lanes;
  const int width = (hidden + kt.lanes - 1) / kt.lanes * pw;
  const auto w_ih =
      RandomVector(static_cast<size_t>(input) * width, 51, -0.3f, 0.3f);
  PackedB packed_ih;
  PackPanels(
      input, width, pw,
      [&](int k, int n) { return w_ih[static_cast<size_t>(k) * width + n]; },
      &packed_ih);
  const auto x = RandomVector(static_cast<size_t>(batch) * input, 52);
  const auto bias = RandomVector(width, 53);
  const StepInputs in(kt, batch, hidden, 54);
  StepOutputs out[2];
  for (int in_step = 0; in_step < 2; ++in_step) {
    StepOutputs& o = out[in_step];
    o.gates.assign(static_cast<size_t>(batch) * width, kCanary);
    LstmStepArgs args =
        StepArgsInto(in, batch, hidden, split, first, count, width, &o);
    args.mr = mr;
    if (in_step == 1) {
      args.x = x.data();
      args.x_stride = input;
      args.w_ih = &packed_ih;
      args.bias = bias.data();
    } else {
      kt.gemm_packed_row_init(batch, width, input, {x.data(), input, 1},
                              packed_ih, bias.data(), o.gates.data(), width,
                              DefaultPackedBlocking(kt));
    }
    kt.lstm_step(args);
    std::vector<float> slice;
    for (int b = 0; b < batch; ++b) {
      const auto row = o.gates.begin() + static_cast<ptrdiff_t>(b) * width;
      slice.insert(slice.end(), row + first * pw, row + (first + count) * pw);
    }
    o.gates = slice;
  }
  ASSERT_TRUE(out[1] == out[0]) << kt.name << " B=" << batch << " I=" << input
                                << " H=" << hidden << " mr=" << mr << " panels "
                                << first << "+" << count << " split=" << split;
}

void TestLstmStepWithInputMatchesProjectionThenStep() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int hidden : {1, 17, 63, 129}) {
    const int panels = (hidden + kt.lanes - 1) / kt.lanes;
    for (int input : {1, 5, 33, 70}) {
      for (int batch : {1, 2, 7, 13}) {
        for (int mr : {1, 4, 6}) {
          CheckStepWithInput(kt, batch, input, hidden, mr, 0, panels, 1 << 30);
          CheckStepWithInput(kt, batch, input, hidden, mr, panels / 2,
                             panels - panels / 2, batch / 2);
        }
      }
    }
  }
}

void CheckCellBackward(const KernelTable& kt, int batch, int hidden) {
  const int lanes = kt.lanes;
  const int width = (hidden + lanes - 1) / lanes * kPanelVectors * lanes;
  const size_t state = static_cast<size_t>(batch) * hidden;
  // Gate activations: sigmoid outputs in (0, 1), the candidate in (-1, 1).
  std::vector<float> gates =
      RandomVector(static_cast<size_t>(batch) * width, 31, 0.01f, 0.99f);
  const auto candidates = RandomVector(gates.size(), 32, -0.99f, 0.99f);
  for (int b = 0; b < batch; ++b) {
    for (int u = 0; u < hidden; ++u) {
      const size_t at =
          static_cast<size_t>(b) * width + GateColumn(2, u, lanes);
      gates[at] = candidates[at];
    }
  }
  const auto c_prev = RandomVector(state, 33, -2.0f, 2.0f);
  const auto tanh_c = RandomVector(state, 34, -0.99f, 0.99f);
  const auto dh_above = RandomVector(state, 35);
  const auto dh_rec = RandomVector(state, 36);
  const auto dc_in = RandomVector(state + 1, 37);
  std::vector<float> dc = dc_in;
  dc.back() = kCanary;
  std::vector<float> d_gates(gates.size(), kCanary);
  LstmCellBackwardArgs args;
  args.batch = batch;
  args.hidden = hidden;
  args.gates = gates.data();
  args.gate_stride = width;
  args.c_prev = StateRows::Contiguous(c_prev.data(), hidden);
  args.tanh_c = tanh_c.data();
  args.dh_above = dh_above.data();
  args.dh_recurrent = dh_rec.data();
  args.dc_carry = dc.data();
  args.d_gates = d_gates.data();
  kt.lstm_cell_backward(args);
  for (int b = 0; b < batch; ++b) {
    for (int u = 0; u < hidden; ++u) {
      const size_t s = static_cast<size_t>(b) * hidden + u;
      auto gate = [&](int q) {
        return double{
            gates[static_cast<size_t>(b) * width + GateColumn(q, u, lanes)]};
      };
      auto d_gate = [&](int q) {
        return double{
            d_gates[static_cast<size_t>(b) * width + GateColumn(q, u, lanes)]};
      };
      const double i = gate(0), f = gate(1), g = gate(2), o = gate(3);
      const double tc = tanh_c[s];
      const double dh = double{dh_above[s]} + dh_rec[s];
      const double dcv = dh * o * (1 - tc * tc) + dc_in[s];
      const double tol = 1e-6;
      ASSERT_NEAR(d_gate(0), dcv * g * i * (1 - i), tol) << kt.name;
      ASSERT_NEAR(d_gate(1), dcv * c_prev[s] * f * (1 - f), tol);
      ASSERT_NEAR(d_gate(2), dcv * i * (1 - g * g), tol);
      ASSERT_NEAR(d_gate(3), dh * tc * o * (1 - o), tol);
      ASSERT_NEAR(dc[s], dcv * f, tol);
    }
    // Padding units of the last panel get zero gradients.
    for (int u = hidden; u < width / kPanelVectors; ++u) {
      for (int q = 0; q < 4; ++q) {
        ASSERT_EQ(
            d_gates[static_cast<size_t>(b) * width + GateColumn(q, u, lanes)],
            0.0f);
      }
    }
  }
  ASSERT_EQ(dc.back(), kCanary);
}

void TestLstmCellBackwardMatchesReference() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int hidden : kRaggedSizes) {
    for (int batch : {1, 2, 5}) CheckCellBackward(kt, batch, hidden);
  }
}

// Max absolute error and max error in units of the last place, against
// double, over a dense sweep.
struct ActivationError {
  double max_abs = 0.0;
  double max_ulp = 0.0;
};

ActivationError MeasureActivation(void (*fn)(const float*, float*, size_t),
                                  double (*exact)(double)) {
  std::vector<float> x;
  for (float v = -40.0f; v <= 40.0f; v += 1.0f / 1024) x.push_back(v);
  for (float v = 1e-8f; v < 1.0f; v *= 1.1f) {
    x.push_back(v);
    x.push_back(-v);
  }
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), x.size());
  ActivationError err;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = exact(x[i]);
    const double diff = std::abs(y[i] - want);
    const float want_f = static_cast<float>(want);
    const double ulp =
        std::nextafter(std::abs(want_f), INFINITY) - std::abs(want_f);
    err.max_abs = std::max(err.max_abs, diff);
    err.max_ulp = std::max(err.max_ulp, diff / ulp);
  }
  return err;
}

void CheckSpecialValues(void (*fn)(const float*, float*, size_t), bool odd,
                        float at_zero) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {0.0f,     -0.0f, 1e30f,  -1e30f,
                                inf,      -inf,  nan,    3.4e38f,
                                -3.4e38f, 88.8f, -88.8f, 200.0f};
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), x.size());
  EXPECT_EQ(y[0], at_zero);
  EXPECT_EQ(y[1], odd ? -at_zero : at_zero);
  if (odd) {
    EXPECT_TRUE(std::signbit(y[1])) << "tanh(-0) must be -0";
  }
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], odd ? -1.0f : 0.0f);
  EXPECT_EQ(y[4], 1.0f);
  EXPECT_EQ(y[5], odd ? -1.0f : 0.0f);
  EXPECT_TRUE(std::isnan(y[6])) << "NaN in must give NaN out";
  for (size_t i = 7; i < y.size(); ++i) EXPECT_FALSE(std::isnan(y[i])) << x[i];
}

// Stated accuracy: sigmoid within 3 ulp, tanh within 4 ulp, both within
// 3e-7 absolute (measured: 2.3 and 2.1 ulp, 9e-8 absolute, on every target);
// the measured figures are printed.
void TestActivationsAccuracyAndSpecialValues() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  const ActivationError sig = MeasureActivation(kt.sigmoid, &Sigmoid);
  const ActivationError th =
      MeasureActivation(kt.tanh, [](double x) { return std::tanh(x); });
  std::printf(
      "[activations] %s sigmoid max_abs=%.3g max_ulp=%.3g; tanh "
      "max_abs=%.3g max_ulp=%.3g\n",
      kt.name, sig.max_abs, sig.max_ulp, th.max_abs, th.max_ulp);
  EXPECT_LE(sig.max_ulp, 3.0);
  EXPECT_LE(th.max_ulp, 4.0);
  EXPECT_LE(sig.max_abs, 3e-7);
  EXPECT_LE(th.max_abs, 3e-7);
  CheckSpecialValues(kt.sigmoid, /*odd=*/false, 0.5f);
  CheckSpecialValues(kt.tanh, /*odd=*/true, 0.0f);
}

// The transpose that repacks weights: exact, for row counts and lengths
// that are multiples of no vector, with and without null rows (padding)
// inside and outside groups of four and eight, leaving every column past
// `count` alone.
void TestTransposeRowsMatchesScalar() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (int count : {1, 3, 4, 5, 8, 12, 17, 32, 33, 40}) {
    for (int cols : {1, 3, 4, 17, 63, 64, 129, 256}) {
      const auto w = RandomVector(static_cast<size_t>(count) * cols, 61);
      std::vector<const float*> rows(count);
      const bool with_padding = count % 8 != 0;
      for (int j = 0; j < count; ++j) {
        const bool padding = with_padding && j % 7 == 5;
        rows[j] = padding ? nullptr : w.data() + static_cast<size_t>(j) * cols;
      }
      const int stride = count + 3;
      std::vector<float> out(static_cast<size_t>(cols) * stride, kCanary);
      kt.transpose_rows(rows.data(), count, cols, out.data(), stride);
      for (int k = 0; k < cols; ++k) {
        for (int j = 0; j < stride; ++j) {
          const float want = j >= count           ? kCanary
                             : rows[j] == nullptr ? 0.0f
                                                  : rows[j][k];
          ASSERT_EQ(out[static_cast<size_t>(k) * stride + j], want)
              << kt.name << " count=" << count << " cols=" << cols << " k=" << k
              << " j=" << j;
        }
      }
    }
  }
}

// The optimizer's rules, each as torch.optim configures them.
std::vector<UpdateRule> UpdateRulesToTest() {
  UpdateRule sgd;
  sgd.learning_rate = 0.1f;
  UpdateRule decay = sgd;
  decay.weight_decay = 0.01f;
  UpdateRule momentum = decay;
  momentum.momentum = 0.9f;
  UpdateRule first_momentum = momentum;
  first_momentum.first_step = true;
  UpdateRule adam;
  adam.adam = true;
  adam.learning_rate = 1e-3f;
  adam.weight_decay = 0.01f;
  adam.beta1 = 0.9f;
  adam.beta2 = 0.999f;
  adam.epsilon = 1e-8f;
  adam.step_size = 1e-3f / (1.0f - 0.9f * 0.9f * 0.9f);
  adam.root_correction2 = std::sqrt(1.0f - 0.999f * 0.999f * 0.999f);
  return {sgd, decay, momentum, first_momentum, adam};
}

// The states a rule keeps: SGD without momentum none, with it the
// velocity, Adam both moments.
int StatesKept(const UpdateRule& r) {
  return r.adam ? 2 : r.momentum != 0.0f ? 1 : 0;
}

// apply_update equals UpdateOne bit for bit in every element, at lengths
// that are multiples of no vector, and writes nothing past n; the states a
// rule does not keep are not passed.
void TestUpdateMatchesScalarRule() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  for (const UpdateRule& rule : UpdateRulesToTest()) {
    const int states = StatesKept(rule);
    for (size_t n : {1, 3, 17, 63, 129, 1000}) {
      const auto grad = RandomVector(n, 71);
      std::vector<float> param = RandomVector(n + 16, 72);
      std::vector<float> first = RandomVector(n + 16, 73);
      std::vector<float> second = RandomVector(n + 16, 74);
      for (float& v : second) v = std::abs(v);
      for (auto* array : {&param, &first, &second}) {
        std::fill(array->begin() + n, array->end(), kCanary);
      }
      const std::vector<float> param0 = param, first0 = first, second0 = second;
      float* f = states >= 1 ? first.data() : nullptr;
      float* s = states >= 2 ? second.data() : nullptr;
      ASSERT_TRUE(
          kt.update_is_finite(rule, grad.data(), param.data(), f, s, n));
      ASSERT_EQ(param, param0) << "the check must not write";
      kt.apply_update(rule, grad.data(), param.data(), f, s, n);
      for (size_t i = 0; i < n + 16; ++i) {
        if (i >= n) {
          ASSERT_EQ(param[i], kCanary) << kt.name << " n=" << n;
          ASSERT_EQ(first[i], kCanary) << kt.name << " n=" << n;
          ASSERT_EQ(second[i], kCanary) << kt.name << " n=" << n;
          continue;
        }
        const UpdatedParameter want =
            UpdateOne(rule, grad[i], param0[i], first0[i], second0[i]);
        ASSERT_EQ(param[i], want.param) << kt.name << " n=" << n << " i=" << i;
        ASSERT_EQ(first[i], states >= 1 ? want.first : first0[i])
            << kt.name << " n=" << n << " i=" << i;
        ASSERT_EQ(second[i], states >= 2 ? want.second : second0[i])
            << kt.name << " n=" << n << " i=" << i;
      }
    }
  }
}

// update_is_finite finds a single parameter that would overflow or turn
// NaN, wherever it sits: in a whole vector or in the partial last one.
void TestUpdateCheckFindsEveryNonFiniteParameter() {
  const KernelTable& kt = TableFor(HWY_TARGET);
  const size_t n = 37;
  for (const UpdateRule& rule : UpdateRulesToTest()) {
    const int states = StatesKept(rule);
    std::vector<float> first(n, 0.5f), second(n, 0.25f);
    const float* f = states >= 1 ? first.data() : nullptr;
    const float* s = states >= 2 ? second.data() : nullptr;
    for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(), -3e38f}) {
      for (size_t at = 0; at < n; ++at) {
        // Near the top of the range, so that an SGD step of -3e38 overflows;
        // an Adam step is at most about its step size, and only a NaN or
        // infinite gradient makes its parameter non-finite.
        std::vector<float> grad(n, 0.01f), param(n, 3.3e38f);
        grad[at] = bad;
        const bool finite = std::isfinite(
            UpdateOne(rule, grad[at], param[at], first[at], second[at]).param);
        if (!rule.adam) {
          ASSERT_FALSE(finite) << "every SGD case must overflow or be NaN";
        }
        EXPECT_EQ(kt.update_is_finite(rule, grad.data(), param.data(), f, s, n),
                  finite)
            << kt.name << " bad=" << bad << " at=" << at;
      }
    }
  }
}

}  // namespace lstmkit::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
HWY_BEFORE_TEST(KernelsTest);

namespace lstmkit::kernels {
HWY_EXPORT_AND_TEST_P(KernelsTest, TestGemmMatchesReferenceForAnyBlocking);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestGemmRowInitMatchesFillThenAccumulate);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestGemmRowMapMatchesCopiedRows);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestGemmSharedAMatchesSeparateProducts);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestLstmStepMatchesReference);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestLstmStepAsGemmMatchesFusedTiles);
HWY_EXPORT_AND_TEST_P(KernelsTest,
                      TestLstmStepWithInputMatchesProjectionThenStep);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestLstmStepReversedPanelsMatchForwardOrder);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestLstmCellBackwardMatchesReference);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestActivationsAccuracyAndSpecialValues);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestBF16KernelsMatchF32OnWidenedWeights);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestTransposeRowsMatchesScalar);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestUpdateMatchesScalarRule);
HWY_EXPORT_AND_TEST_P(KernelsTest, TestUpdateCheckFindsEveryNonFiniteParameter);

// A row count outside the tile tables stops the process instead of reading
// past a table or looping forever.
TEST(LstmStepDeathTest, RejectsRowsPerTileOutsideTheTables) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (int mr : {0, kMaxTileRows + 1}) {
    LstmStepArgs args;
    args.batch = 1;
    args.mr = mr;
    EXPECT_DEATH(ActiveKernels().lstm_step(args),
                 "outside \\[1, " + std::to_string(kMaxTileRows) + "\\]")
        << "mr = " << mr;
  }
}

// The default tiles are ones a tuner could also choose, and the tile over
// weights packed ahead reads whole panel rows (the reason it differs from
// the general GEMM's on 16-register targets).
TEST(DefaultBlocking, TilesAreCandidatesAndThePackedTileSpansAPanel) {
  for (const KernelTable* kt : AvailableKernels()) {
    const std::vector<Blocking> candidates = TileCandidates(*kt);
    for (const Blocking& b :
         {DefaultBlocking(*kt), DefaultPackedBlocking(*kt)}) {
      EXPECT_TRUE(std::any_of(
          candidates.begin(), candidates.end(),
          [&](const Blocking& c) { return c.mr == b.mr && c.nr == b.nr; }))
          << kt->name << " mr=" << b.mr << " nr=" << b.nr;
      EXPECT_EQ(b.mc % b.mr, 0) << kt->name;
      EXPECT_GE(b.kc, 8) << kt->name;
    }
    EXPECT_EQ(DefaultPackedBlocking(*kt).nr, kPanelVectors) << kt->name;
  }
}

// Each cache level comes from sysfs where it lists it, else from the C
// library (virtual machines without sysfs cache entries), else the default.
TEST(CacheSizes, EachLevelTakesTheFirstSourceThatKnowsIt) {
  const CacheSizes defaults;
  const CacheSizes none{0, 0, 0};
  const CacheSizes sysfs{48 << 10, 0, 0};
  const CacheSizes libc{32 << 10, 1 << 20, 0};
  const CacheSizes merged = MergeCacheSizes(sysfs, libc);
  EXPECT_EQ(merged.l1d, size_t{48} << 10);
  EXPECT_EQ(merged.l2, size_t{1} << 20);
  EXPECT_EQ(merged.l3, defaults.l3);
  const CacheSizes neither = MergeCacheSizes(none, none);
  EXPECT_EQ(neither.l1d, defaults.l1d);
  EXPECT_EQ(neither.l2, defaults.l2);
  EXPECT_EQ(MergeCacheSizes(none, libc).l1d, size_t{32} << 10);
}

// What this machine reports is used: where glibc knows L1d and L2 and
// sysfs does not list them, the sizes are glibc's, not the defaults.
TEST(CacheSizes, ThisMachineSizesAreKnown) {
  const long l1d = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  const bool sysfs_lists_caches =
      std::ifstream("/sys/devices/system/cpu/cpu0/cache/index0/size").good();
  if (sysfs_lists_caches || l1d <= 0 || l2 <= 0) {
    GTEST_SKIP() << "sysfs lists the caches, or glibc does not know them";
  }
  EXPECT_EQ(Caches().l1d, static_cast<size_t>(l1d));
  EXPECT_EQ(Caches().l2, static_cast<size_t>(l2));
}

// Packed weights start on a cache line, in f32 and in bfloat16, whatever
// their size: a vector-sized weight load then never straddles two lines
// (bfloat16 panels in a std::vector started 16 bytes past one, and every
// other load of the batch-1 product was split).
TEST(PackedWeights, StartOnACacheLine) {
  constexpr uintptr_t kLine = 64;
  const int pw = kPanelVectors * ActiveKernels().lanes;
  auto weight = [](int kk, int nn) { return 0.01f * (kk - nn); };
  for (int k : {1, 3, 17, 256}) {
    for (int n : {1, 33, 1024}) {
      PackedB f32;
      PackPanels(k, n, pw, weight, &f32);
      PackedBF16 bf16;
      PackPanelsBF16(k, n, pw, weight, &bf16);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(f32.data.data()) % kLine, 0u)
          << "k=" << k << " n=" << n;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(bf16.values()) % kLine, 0u)
          << "k=" << k << " n=" << n;
    }
  }
}

TEST(LineAlignedVector, StartsOnACacheLineAtEverySize) {
  constexpr uintptr_t kLine = 64;
  LineAlignedVector<float> v;
  for (size_t n : {1, 3, 17, 4096, 1 << 20, 5}) {
    v.resize(n, 1.0f);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kLine, 0u) << "n=" << n;
    v.shrink_to_fit();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % kLine, 0u) << "n=" << n;
  }
  const LineAlignedVector<float> copy = v;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.data()) % kLine, 0u);
  EXPECT_TRUE(copy == v);
}

TEST(AlignedArray, MovedFromIsEmptyAndCanBeSizedAgain) {
  AlignedArray<float> a(100);
  a.Fill(2.0f);
  AlignedArray<float> b(std::move(a));
  EXPECT_EQ(b.size(), 100u);
  EXPECT_EQ(b.data()[99], 2.0f);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move)
  a.Resize(100);
  ASSERT_NE(a.data(), nullptr);
  a.Fill(3.0f);
  AlignedArray<float> c;
  c = std::move(a);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(c.data()[0], 3.0f);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

// The VmFlags of the mapping that holds `p`, from /proc/self/smaps; empty
// when it cannot be read.
std::string MappingFlags(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const uintptr_t at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2) {
      inside = begin <= at && at < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

bool HugePagesCanBeAdvised() {
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  std::getline(enabled, modes);
  return !modes.empty() && modes.find("[never]") == std::string::npos;
}

TEST(AllocateLines, LargeBuffersStartOnAHugePageAndAreAdvised) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  for (size_t bytes : {size_t{1}, size_t{4096}, (size_t{2} << 20) - 4,
                       size_t{2} << 20, (size_t{5} << 20) + 12}) {
    char* p = static_cast<char*>(AllocateLines(bytes));
    const uintptr_t alignment = bytes >= kHuge ? kHuge : 64;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u)
        << "bytes=" << bytes;
    std::memset(p, 1, bytes);  // every byte is usable (ASan checks)
    EXPECT_EQ(p[bytes - 1], 1);
    if (bytes >= kHuge && HugePagesCanBeAdvised()) {
      // "hg": the range was given MADV_HUGEPAGE.
      EXPECT_NE(MappingFlags(p).find(" hg"), std::string::npos)
          << "bytes=" << bytes << ": " << MappingFlags(p);
    }
    ReleaseLines(p, bytes);
  }
}

}  // namespace lstmkit::kernels
#endif  // HWY_ONCE
