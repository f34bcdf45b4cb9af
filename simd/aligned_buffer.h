// A fixed-size heap buffer of floats aligned for any vector width.
#ifndef LSTMKIT_SIMD_ALIGNED_BUFFER_H_
#define LSTMKIT_SIMD_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

namespace lstmkit::kernels {

class AlignedBuffer {
 public:
  static constexpr std::align_val_t kAlignment{64};

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size) { Resize(size); }
  AlignedBuffer(const AlignedBuffer& other) { *this = other; }
  AlignedBuffer& operator=(const AlignedBuffer& other) {
    if (this != &other) {
      Resize(other.size_);
      if (size_ > 0)
        std::memcpy(data_.get(), other.data_.get(), size_ * sizeof(float));
    }
    return *this;
  }
  AlignedBuffer(AlignedBuffer&&) noexcept = default;
  AlignedBuffer& operator=(AlignedBuffer&&) noexcept = default;

  // Keeps the storage when the size is unchanged; contents are unspecified
  // after a size change.
  void Resize(size_t size) {
    if (size == size_) return;
    data_.reset(size == 0 ? nullptr
                          : static_cast<float*>(::operator new(
                                size * sizeof(float), kAlignment)));
    size_ = size;
  }
  void Fill(float value) {
    for (size_t i = 0; i < size_; ++i) data_[i] = value;
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Deleter {
    void operator()(float* p) const { ::operator delete(p, kAlignment); }
  };
  std::unique_ptr<float[], Deleter> data_;
  size_t size_ = 0;
};

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_ALIGNED_BUFFER_H_
