// The model's weights rearranged for the kernels: gate-interleaved panels
// for the forward GEMMs, and row-permuted panels for the backward ones.
// Rebuilt whenever the parameters change.
#ifndef LSTMKIT_SRC_PACKED_WEIGHTS_H_
#define LSTMKIT_SRC_PACKED_WEIGHTS_H_

#include <atomic>
#include <mutex>
#include <vector>

#include "kernels.h"
#include "lstmkit/lstmkit.hpp"
#include "parameter_layout.h"
#include "threads.h"
#include "tuning.h"

namespace lstmkit::internal {

// Gate-interleaved order of the 4H gate rows: panel p holds i, f, g, o of
// hidden units [p * lanes, (p + 1) * lanes), one vector each, with the
// last panel padded when lanes does not divide H.
class GateLayout {
 public:
  GateLayout() = default;
  GateLayout(int hidden, int lanes) : hidden_(hidden), lanes_(lanes) {}

  int hidden() const { return hidden_; }
  int panels() const { return (hidden_ + lanes_ - 1) / lanes_; }
  // Columns of a gate-interleaved row, padding included.
  int width() const { return panels() * kernels::kPanelVectors * lanes_; }
  // The PyTorch row (gate * H + unit) behind interleaved column `column`,
  // or -1 for padding.
  int SourceRow(int column) const {
    const int panel_width = kernels::kPanelVectors * lanes_;
    const int gate = column % panel_width / lanes_;
    const int unit = column / panel_width * lanes_ + column % lanes_;
    return unit < hidden_ ? gate * hidden_ + unit : -1;
  }
  // The interleaved column of PyTorch row `row` (gate * H + unit).
  int ColumnOfRow(int row) const {
    const int gate = row / hidden_;
    const int unit = row % hidden_;
    return (unit / lanes_ * kernels::kPanelVectors + gate) * lanes_ +
           unit % lanes_;
  }

 private:
  int hidden_ = 0;
  int lanes_ = 1;
};

// One direction of one layer. P is the width of h: proj_size, or H.
struct PackedLayer {
  kernels::PackedB w_ih;       // K = I_k, N = gate columns: x W_ih^T
  kernels::PackedB w_hh;       // K = P, N = gate columns: h W_hh^T
  kernels::PackedB w_ih_rows;  // K = gate columns, N = I_k: dA W_ih (not
                               // for layer 0: BottomInputRows)
  kernels::PackedB w_hh_rows;  // K = gate columns, N = P: dA W_hh
  std::vector<float> bias;     // b_ih + b_hh, gate-interleaved
  // With a projection (empty otherwise).
  kernels::PackedB w_hr;       // K = H, N = P: r W_hr^T
  kernels::PackedB w_hr_rows;  // K = P, N = H: dh W_hr
  // With bfloat16 weights: the batch-1 kernels' copies (empty otherwise).
  kernels::PackedBF16 w_ih_bf16;
  kernels::PackedBF16 w_hh_bf16;
  kernels::PackedBF16 w_hr_bf16;
};

// Layer 0's dA W_ih layouts, one per direction. Only input gradients read
// them, and a training loop over data does not ask for those, so they are
// packed on first use after the weights change instead of at every
// optimizer step. Safe to fill from many threads at once.
class BottomInputRows {
 public:
  BottomInputRows() = default;
  BottomInputRows(const BottomInputRows& other) { *this = other; }
  BottomInputRows& operator=(const BottomInputRows& other);

  // The weights changed: the next Fill packs again. Not concurrent with
  // other calls.
  void Invalidate() { ready_.store(false, std::memory_order_relaxed); }
  // pack(&rows) unless the rows are packed for the current weights.
  template <typename Pack>
  void Fill(const Pack& pack) const {
    if (ready_.load(std::memory_order_acquire)) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (ready_.load(std::memory_order_relaxed)) return;
    pack(&rows_);
    ready_.store(true, std::memory_order_release);
  }
  // Direction dir's layout; Fill must have run since the last Invalidate.
  const kernels::PackedB& rows(int dir) const;

 private:
  mutable std::mutex mutex_;
  mutable std::atomic<bool> ready_{false};
  mutable std::vector<kernels::PackedB> rows_;
};

struct PackedWeights {
  const kernels::KernelTable* kernels = nullptr;
  Tuning tuning;  // how the kernels run on this CPU
  GateLayout gates;
  int directions = 1;
  std::vector<PackedLayer> layers;  // [L][D]
  kernels::PackedB head;            // K = H, N = O: h W_head^T
  kernels::PackedB head_rows;       // K = O, N = H: dY W_head
  kernels::PackedBF16 head_bf16;
  BottomInputRows bottom_input_rows;  // layer 0's w_ih_rows
  bool bf16 = false;                  // weights rounded to bfloat16 everywhere

  const PackedLayer& layer(int index, int dir = 0) const {
    return layers[index * directions + dir];
  }
  // dA W_ih's layout of layer `index` (K = gate columns, N = I_k).
  const kernels::PackedB& input_rows(int index, int dir) const {
    return index == 0 ? bottom_input_rows.rows(dir)
                      : layer(index, dir).w_ih_rows;
  }
  const kernels::PackedBF16* w_hh_bf16(int index, int dir = 0) const {
    return bf16 ? &layer(index, dir).w_hh_bf16 : nullptr;
  }
};

// Packs every weight of `params` for the active kernels, rounded to
// bfloat16 when `bf16`, with independent parts on `threads`. The packed
// values do not depend on the thread count. Layer 0's input rows are left
// to PackBottomInputRows.
void PackWeights(const ModelConfig& config, const ParameterLayout& layout,
                 Span<const float> params, bool bf16, const Threads& threads,
                 PackedWeights* packed);

// Packs layer 0's input rows for input gradients, unless they are packed
// for these weights already. Safe to call from many threads at once.
void PackBottomInputRows(const ParameterLayout& layout,
                         Span<const float> params, const PackedWeights& packed);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_PACKED_WEIGHTS_H_
