// The compute kernels behind the model, as a plain C++ interface. Matrices
// are row-major with explicit leading dimensions (elements between rows).
#ifndef LSTMKIT_SIMD_KERNELS_H_
#define LSTMKIT_SIMD_KERNELS_H_

#include <cstddef>

namespace lstmkit::kernels {

// C[M][N] = beta * C + A[M][K] * B[N][K]^T, beta in {0, 1}.
void GemmNT(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc);
// C[M][N] = beta * C + A[M][K] * B[K][N].
void GemmNN(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc);
// C[M][N] = beta * C + A[K][M]^T * B[K][N].
void GemmTN(int m, int n, int k, const float* a, int lda, const float* b,
            int ldb, float beta, float* c, int ldc);

// Adds bias[n] to every row of C[M][N].
void AddRowBias(int m, int n, const float* bias, float* c, int ldc);
// sums[n] += sum over rows of A[M][N].
void AccumulateColumnSums(int m, int n, const float* a, int lda, float* sums);

// One LSTM step for a batch, after the gate GEMMs. `gates` holds the
// pre-activations [B][4H] in PyTorch block order (i | f | g | o) and is
// overwritten with the activations. Writes c, h and tanh(c), each [B][H].
void LstmCellForward(int batch, int hidden, float* gates, const float* c_prev,
                     float* c, float* h, float* tanh_c);

// The same step backward. In: activations, c_prev and tanh(c) from forward,
// dh = dL/dh_t (both sources summed), and dc_carry = dL/dc_t from step t+1
// (that is, dc_{t+1} * f_{t+1}). Out: d_gates [B][4H] = dL/d(pre-activation),
// and dc_carry overwritten with dL/dc_{t-1}.
void LstmCellBackward(int batch, int hidden, const float* gates,
                      const float* c_prev, const float* tanh_c,
                      const float* dh, float* dc_carry, float* d_gates);

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_KERNELS_H_
