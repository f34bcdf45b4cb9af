// Heap buffers aligned for any vector width, so that a vector load never
// straddles two cache lines; large ones on huge pages.
#ifndef LSTMKIT_SIMD_ALIGNED_BUFFER_H_
#define LSTMKIT_SIMD_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace lstmkit::kernels {

// `bytes` (> 0) from operator new, on a cache line, and on a 2 MiB boundary
// when they span whole 2 MiB blocks, which are then offered to the kernel
// as huge pages. Throws std::bad_alloc; release with ReleaseLines and the
// same `bytes`.
void* AllocateLines(size_t bytes);
void ReleaseLines(void* p, size_t bytes) noexcept;

template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(size_t size) { Resize(size); }
  AlignedArray(const AlignedArray& other) { *this = other; }
  AlignedArray& operator=(const AlignedArray& other) {
    if (this != &other) {
      Resize(other.size_);
      if (size_ > 0)
        std::memcpy(data_.get(), other.data_.get(), size_ * sizeof(T));
    }
    return *this;
  }
  // A moved-from array is empty, so that resizing it to its old size
  // allocates again.
  AlignedArray(AlignedArray&& other) noexcept
      : data_(std::move(other.data_)), size_(std::exchange(other.size_, 0)) {}
  AlignedArray& operator=(AlignedArray&& other) noexcept {
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  // Keeps the storage when the size is unchanged; contents are unspecified
  // after a size change.
  void Resize(size_t size) {
    if (size == size_) return;
    const size_t bytes = size * sizeof(T);
    data_ = Storage(size == 0 ? nullptr : static_cast<T*>(AllocateLines(bytes)),
                    Deleter{bytes});
    size_ = size;
  }
  void Fill(T value) {
    for (size_t i = 0; i < size_; ++i) data_[i] = value;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Deleter {
    size_t bytes = 0;
    void operator()(T* p) const { ReleaseLines(p, bytes); }
  };
  using Storage = std::unique_ptr<T[], Deleter>;
  Storage data_;
  size_t size_ = 0;
};

using AlignedBuffer = AlignedArray<float>;

// A std::vector allocator whose blocks start on a cache line, for buffers
// that grow and shrink as vectors do but feed the GEMM tiles and the
// vector loads of the kernels.
template <typename T>
struct CacheLineAllocator {
  using value_type = T;

  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}  // NOLINT

  T* allocate(size_t n) {
    return static_cast<T*>(AllocateLines(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { ReleaseLines(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept {
    return false;
  }
};

template <typename T>
using LineAlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace lstmkit::kernels

#endif  // LSTMKIT_SIMD_ALIGNED_BUFFER_H_
