// Where the rows of a batch of variable-length sequences sit in the
// forward and backward traces. Rows are sorted by length, longest first
// (ties keep the caller's order), so the sequences still running at step t
// are the first rows(t) rows, and step t's rows start at packed row
// offset(t): no memory and no compute go to padding. With every sequence
// full-length the layout is the plain [T][B] one, in the caller's order.
#ifndef LSTMKIT_SRC_SEQUENCE_LAYOUT_H_
#define LSTMKIT_SRC_SEQUENCE_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

class SequenceLayout {
 public:
  SequenceLayout() = default;
  // `lengths` empty: every sequence runs all seq_len steps. Otherwise one
  // length per sequence, each in [1, seq_len] (validated by the caller).
  SequenceLayout(int seq_len, int batch, Span<const int32_t> lengths);

  int seq_len() const { return seq_len_; }
  int batch() const { return batch_; }
  // True when the layout is the plain one: full lengths, caller's order.
  bool plain() const { return plain_; }
  int rows(int t) const { return rows_[t]; }
  size_t offset(int t) const { return offsets_[t]; }
  size_t total_rows() const { return offsets_[seq_len_]; }
  // The caller's batch index of sorted row i, and its length.
  int original(int i) const { return order_[i]; }
  int length(int i) const { return lengths_[i]; }
  // The packed row holding sorted row i's last step.
  size_t last_row(int i) const { return offsets_[lengths_[i] - 1] + i; }

  // Time-major [T][B][width] -> packed [total_rows][width], padding dropped.
  void Gather(const float* src, int width, float* dst) const;
  void Gather(const int32_t* src, int32_t* dst) const;  // width 1
  // Packed -> time-major, padding set to zero.
  void Scatter(const float* src, int width, float* dst) const;
  // [B][width] in the caller's order <-> sorted order.
  void GatherBatch(const float* src, int width, float* dst) const;
  void ScatterBatch(const float* src, int width, float* dst) const;

 private:
  int seq_len_ = 0;
  int batch_ = 0;
  bool plain_ = true;
  std::vector<int> order_;
  std::vector<int> lengths_;
  std::vector<int> rows_;        // [T]
  std::vector<size_t> offsets_;  // [T + 1]
};

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_SEQUENCE_LAYOUT_H_
