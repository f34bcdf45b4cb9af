// Straightforward kernels: the production path's first form. Each loop keeps
// a fixed summation order so results do not depend on blocking.
#include "kernels.h"

#include <cmath>

namespace lstmkit::kernels {

namespace {

void ScaleOrClear(int m, int n, float beta, float* c, int ldc) {
  if (beta == 1.0f) return;
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
  }
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

void GemmNT(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) {
  ScaleOrClear(m, n, beta, c, ldc);
  for (int i = 0; i < m; ++i) {
    const float* a_row = a + static_cast<ptrdiff_t>(i) * lda;
    for (int j = 0; j < n; ++j) {
      const float* b_row = b + static_cast<ptrdiff_t>(j) * ldb;
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) sum += a_row[p] * b_row[p];
      c[static_cast<ptrdiff_t>(i) * ldc + j] += sum;
    }
  }
}

void GemmNN(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) {
  ScaleOrClear(m, n, beta, c, ldc);
  for (int i = 0; i < m; ++i) {
    float* c_row = c + static_cast<ptrdiff_t>(i) * ldc;
    for (int p = 0; p < k; ++p) {
      const float a_ip = a[static_cast<ptrdiff_t>(i) * lda + p];
      const float* b_row = b + static_cast<ptrdiff_t>(p) * ldb;
      for (int j = 0; j < n; ++j) c_row[j] += a_ip * b_row[j];
    }
  }
}

void GemmTN(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc) {
  ScaleOrClear(m, n, beta, c, ldc);
  for (int p = 0; p < k; ++p) {
    const float* a_row = a + static_cast<ptrdiff_t>(p) * lda;
    const float* b_row = b + static_cast<ptrdiff_t>(p) * ldb;
    for (int i = 0; i < m; ++i) {
      float* c_row = c + static_cast<ptrdiff_t>(i) * ldc;
      const float a_pi = a_row[i];
      for (int j = 0; j < n; ++j) c_row[j] += a_pi * b_row[j];
    }
  }
}

void AddRowBias(int m, int n, const float* bias, float* c, int ldc) {
  for (int i = 0; i < m; ++i) {
    float* row = c + static_cast<ptrdiff_t>(i) * ldc;
    for (int j = 0; j < n; ++j) row[j] += bias[j];
  }
}

void AccumulateColumnSums(int m, int n, const float* a, int lda, float* sums) {
  for (int i = 0; i < m; ++i) {
    const float* row = a + static_cast<ptrdiff_t>(i) * lda;
    for (int j = 0; j < n; ++j) sums[j] += row[j];
  }
}

void LstmCellForward(int batch, int hidden, float* gates, const float* c_prev,
                     float* c, float* h, float* tanh_c) {
  for (int b = 0; b < batch; ++b) {
    float* gi = gates + static_cast<ptrdiff_t>(b) * 4 * hidden;
    float* gf = gi + hidden;
    float* gg = gf + hidden;
    float* go = gg + hidden;
    const ptrdiff_t row = static_cast<ptrdiff_t>(b) * hidden;
    for (int j = 0; j < hidden; ++j) {
      gi[j] = Sigmoid(gi[j]);
      gf[j] = Sigmoid(gf[j]);
      gg[j] = std::tanh(gg[j]);
      go[j] = Sigmoid(go[j]);
      c[row + j] = gf[j] * c_prev[row + j] + gi[j] * gg[j];
      tanh_c[row + j] = std::tanh(c[row + j]);
      h[row + j] = go[j] * tanh_c[row + j];
    }
  }
}

void LstmCellBackward(int batch, int hidden, const float* gates,
                      const float* c_prev, const float* tanh_c,
                      const float* dh, float* dc_carry, float* d_gates) {
  for (int b = 0; b < batch; ++b) {
    const float* gi = gates + static_cast<ptrdiff_t>(b) * 4 * hidden;
    const float* gf = gi + hidden;
    const float* gg = gf + hidden;
    const float* go = gg + hidden;
    float* di = d_gates + static_cast<ptrdiff_t>(b) * 4 * hidden;
    float* df = di + hidden;
    float* dg = df + hidden;
    float* d_o = dg + hidden;
    const ptrdiff_t row = static_cast<ptrdiff_t>(b) * hidden;
    for (int j = 0; j < hidden; ++j) {
      const float tc = tanh_c[row + j];
      const float dhj = dh[row + j];
      const float dc = dhj * go[j] * (1.0f - tc * tc) + dc_carry[row + j];
      d_o[j] = dhj * tc * go[j] * (1.0f - go[j]);
      di[j] = dc * gg[j] * gi[j] * (1.0f - gi[j]);
      dg[j] = dc * gi[j] * (1.0f - gg[j] * gg[j]);
      df[j] = dc * c_prev[row + j] * gf[j] * (1.0f - gf[j]);
      dc_carry[row + j] = dc * gf[j];
    }
  }
}

}  // namespace lstmkit::kernels
