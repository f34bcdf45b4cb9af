// The bench contract's three modes on oneDNN 2.6's LSTM primitive, the
// reference point for large batches (see tools/compare).
#ifndef LSTMKIT_BENCH_ONEDNN_LSTM_H_
#define LSTMKIT_BENCH_ONEDNN_LSTM_H_

#include <string>

#include "bench_case.h"

namespace lstmkit::onednn_bench {

// step: a primitive over one time step, executed T times, its h and c
//   carried from dst_iter to src_iter;
// infer: forward_inference over the whole sequence;
// train: forward_training, backward with diff_dst_layer = 1 (the gradient of
//   the sum of the top layer's outputs), and SGD on plain f32 weights, which
//   are reordered into the primitives' formats at every iteration.
// --bidirectional runs rnn_direction::bidirectional_concat, --proj oneDNN's
// LSTMP (weights_projection). bf16 runs step and infer where this CPU has
// oneDNN's bf16 LSTM; elsewhere, and for train, it throws
// std::runtime_error saying so. oneDNN stacks only layers that read one
// direction's h in a primitive, so when I != P layer 0 gets its own, and a
// bidirectional model one per layer.
cli::BenchResult RunOnednnBench(const cli::BenchCase& bench_case);

// oneDNN's name for the instruction set its kernels use here, e.g. "avx2".
std::string OnednnIsaName();

}  // namespace lstmkit::onednn_bench

#endif  // LSTMKIT_BENCH_ONEDNN_LSTM_H_
