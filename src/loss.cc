#include "loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"

namespace lstmkit::internal {

namespace {

// Squared errors of [begin, end), in four running sums so that four
// chains of dependent additions run at once.
double SquaredErrors(const float* y, const float* t, size_t begin, size_t end,
                     float scale, float* dy) {
  double sums[4] = {0.0, 0.0, 0.0, 0.0};
  size_t i = begin;
  for (; i + 4 <= end; i += 4) {
    for (int k = 0; k < 4; ++k) {
      const float diff = y[i + k] - t[i + k];
      sums[k] += static_cast<double>(diff) * diff;
      dy[i + k] = scale * diff;
    }
  }
  for (; i < end; ++i) {
    const float diff = y[i] - t[i];
    sums[0] += static_cast<double>(diff) * diff;
    dy[i] = scale * diff;
  }
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

// Chunks of a fixed size, summed in parallel and added in order: the value
// depends on n alone, never on the threads. The loop is bound by memory
// (y, the target and dy: 20 MB at B=64 T=100 H=256); on one thread it took
// 5 ms of a 79 ms training step on 16 cores.
LossValue MeanSquaredError(const Threads& threads, const Target& target,
                           size_t n, const float* y, float* dy) {
  constexpr size_t kChunk = size_t{1} << 14;
  const float scale = 2.0f / static_cast<float>(n);
  std::vector<double> sums(Threads::RangeCount(n, kChunk));
  threads.Run([&] {
    threads.ForRanges(n, kChunk, [&](int c, size_t begin, size_t end) {
      sums[c] = SquaredErrors(y, target.values.data(), begin, end, scale, dy);
    });
  });
  double sum = 0.0;
  for (double s : sums) sum += s;
  return {sum / static_cast<double>(n), static_cast<double>(n)};
}

LossValue CrossEntropy(const LossConfig& loss, const Target& target, int rows,
                       int width, const float* logits, float* d_logits) {
  size_t labelled = 0;
  for (int r = 0; r < rows; ++r)
    labelled += target.labels[r] != loss.ignore_index;
  std::fill_n(d_logits, static_cast<size_t>(rows) * width, 0.0f);
  if (labelled == 0) return {0.0, 0.0};
  const double scale = 1.0 / static_cast<double>(labelled);
  double sum = 0.0;
  for (int r = 0; r < rows; ++r) {
    const int32_t label = target.labels[r];
    if (label == loss.ignore_index) continue;
    const float* z = logits + static_cast<size_t>(r) * width;
    float* dz = d_logits + static_cast<size_t>(r) * width;
    const float max_z = *std::max_element(z, z + width);
    double denom = 0.0;
    for (int j = 0; j < width; ++j) denom += std::exp(double{z[j]} - max_z);
    const double log_denom = std::log(denom);
    sum += log_denom - (double{z[label]} - max_z);
    for (int j = 0; j < width; ++j) {
      const double p = std::exp(double{z[j]} - max_z - log_denom);
      dz[j] = static_cast<float>((p - (j == label ? 1.0 : 0.0)) * scale);
    }
  }
  return {sum * scale, static_cast<double>(labelled)};
}

}  // namespace

void ValidateTarget(const LossConfig& loss, const Target& target, int rows,
                    int width, OutputActivation activation) {
  if (loss.kind == LossKind::kMeanSquaredError) {
    Require(activation == OutputActivation::kIdentity,
            "loss.kind = kMeanSquaredError needs an identity output; this "
            "model has a softmax head (use kCrossEntropy)");
    RequireBuffer("target.values", target.values.data(), target.values.size(),
                  static_cast<size_t>(rows) * width,
                  "the shape of the output, " + ShapeString({rows, width}));
    return;
  }
  Require(loss.kind == LossKind::kCrossEntropy,
          "loss.kind must be kMeanSquaredError or kCrossEntropy");
  Require(activation == OutputActivation::kSoftmax,
          "loss.kind = kCrossEntropy needs a softmax head "
          "(config.output_activation = kSoftmax)");
  RequireBuffer("target.labels", target.labels.data(), target.labels.size(),
                static_cast<size_t>(rows),
                "one label per output row, " + ShapeString({rows}));
  for (int r = 0; r < rows; ++r) {
    const int32_t label = target.labels[r];
    Require(label == loss.ignore_index || (label >= 0 && label < width),
            "target.labels[", r, "] must be in [0, ", width,
            ") or equal loss.ignore_index (", loss.ignore_index, "), got ",
            label);
  }
}

LossValue ComputeLoss(const Threads& threads, const LossConfig& loss,
                      const Target& target, int rows, int width,
                      const float* output, float* d_output) {
  if (loss.kind == LossKind::kMeanSquaredError) {
    return MeanSquaredError(threads, target, static_cast<size_t>(rows) * width,
                            output, d_output);
  }
  return CrossEntropy(loss, target, rows, width, output, d_output);
}

}  // namespace lstmkit::internal
