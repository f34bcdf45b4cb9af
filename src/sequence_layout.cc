#include "sequence_layout.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace lstmkit::internal {

SequenceLayout::SequenceLayout(int seq_len, int batch,
                               Span<const int32_t> lengths)
    : seq_len_(seq_len), batch_(batch), order_(batch), lengths_(batch) {
  std::iota(order_.begin(), order_.end(), 0);
  if (lengths.empty()) {
    std::fill(lengths_.begin(), lengths_.end(), seq_len);
  } else {
    std::stable_sort(order_.begin(), order_.end(),
                     [&](int a, int b) { return lengths[a] > lengths[b]; });
    for (int i = 0; i < batch; ++i) lengths_[i] = lengths[order_[i]];
  }
  plain_ = lengths_.back() == seq_len &&
           std::is_sorted(order_.begin(), order_.end());
  rows_.assign(seq_len, 0);
  offsets_.assign(seq_len + 1, 0);
  for (int t = 0; t < seq_len; ++t) {
    // Lengths are sorted descending: count those longer than t.
    rows_[t] = static_cast<int>(
        std::upper_bound(lengths_.begin(), lengths_.end(), t,
                         [](int step, int len) { return step >= len; }) -
        lengths_.begin());
    offsets_[t + 1] = offsets_[t] + rows_[t];
  }
}

void SequenceLayout::Gather(const float* src, int width, float* dst) const {
  for (int t = 0; t < seq_len_; ++t) {
    for (int i = 0; i < rows_[t]; ++i) {
      std::memcpy(dst + (offsets_[t] + i) * width,
                  src + (static_cast<size_t>(t) * batch_ + order_[i]) * width,
                  width * sizeof(float));
    }
  }
}

void SequenceLayout::Gather(const int32_t* src, int32_t* dst) const {
  for (int t = 0; t < seq_len_; ++t) {
    for (int i = 0; i < rows_[t]; ++i) {
      dst[offsets_[t] + i] = src[static_cast<size_t>(t) * batch_ + order_[i]];
    }
  }
}

void SequenceLayout::Scatter(const float* src, int width, float* dst) const {
  std::fill_n(dst, static_cast<size_t>(seq_len_) * batch_ * width, 0.0f);
  for (int t = 0; t < seq_len_; ++t) {
    for (int i = 0; i < rows_[t]; ++i) {
      std::memcpy(dst + (static_cast<size_t>(t) * batch_ + order_[i]) * width,
                  src + (offsets_[t] + i) * width, width * sizeof(float));
    }
  }
}

void SequenceLayout::GatherBatch(const float* src, int width,
                                 float* dst) const {
  for (int i = 0; i < batch_; ++i) {
    std::memcpy(dst + static_cast<size_t>(i) * width,
                src + static_cast<size_t>(order_[i]) * width,
                width * sizeof(float));
  }
}

void SequenceLayout::ScatterBatch(const float* src, int width,
                                  float* dst) const {
  for (int i = 0; i < batch_; ++i) {
    std::memcpy(dst + static_cast<size_t>(order_[i]) * width,
                src + static_cast<size_t>(i) * width, width * sizeof(float));
  }
}

}  // namespace lstmkit::internal
