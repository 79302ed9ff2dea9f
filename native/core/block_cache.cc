// Implements block_cache.h. Every block carries a 64-byte header holding its size (its size class when it is
// cacheable), so the deleter needs no lookup; the data after it keeps c10's 64-byte alignment.
#include "core/block_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace rexrag {
namespace {

constexpr size_t kSmallest = size_t{64} << 10;  // below this malloc's bins reuse memory well enough
constexpr size_t kHeader = 64;

/// n rounded up to a step of max(4 KiB, 1/8 of its power of two): at most 12.5% unused.
size_t size_class(size_t n) {
  size_t top = 1;
  while (top * 2 <= n) top *= 2;
  const size_t step = std::max<size_t>(4096, top / 8);
  return (n + step - 1) / step * step;
}

class BlockCache final : public c10::Allocator {
 public:
  explicit BlockCache(int64_t budget) : budget_(budget) {}

  c10::DataPtr allocate(size_t n) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    // Small blocks keep their exact size (malloc's bins reuse them); the header marks them not cacheable.
    const size_t size = n < kSmallest ? n : size_class(n);
    void* base = n < kSmallest ? nullptr : take(size);
    if (base == nullptr) {
      base = c10::alloc_cpu(size + kHeader);
      *static_cast<size_t*>(base) = size;
    }
    // The context is the data pointer itself, as raw_allocate() (used inside some ATen kernels) requires.
    void* data = static_cast<char*>(base) + kHeader;
    return {data, data, &give_back, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &give_back; }

  int64_t release() {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t freed = cached_;
    for (auto& [size, blocks] : free_) {
      for (void* base : blocks) c10::free_cpu(base);
    }
    free_.clear();
    cached_ = 0;
    return freed;
  }

  BlockCacheStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {cached_, budget_, hits_, misses_};
  }

  static BlockCache* instance;

 private:
  void* take(size_t size) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = free_.find(size);
    if (found == free_.end() || found->second.empty()) {
      misses_ += 1;
      return nullptr;
    }
    void* base = found->second.back();
    found->second.pop_back();
    cached_ -= static_cast<int64_t>(size);
    hits_ += 1;
    return base;
  }

  static void give_back(void* data) {
    void* base = static_cast<char*>(data) - kHeader;
    const size_t size = *static_cast<size_t*>(base);
    BlockCache& cache = *instance;
    if (size >= kSmallest) {
      std::lock_guard<std::mutex> lock(cache.mutex_);
      if (cache.cached_ + static_cast<int64_t>(size) <= cache.budget_) {
        cache.free_[size].push_back(base);
        cache.cached_ += static_cast<int64_t>(size);
        return;
      }
    }
    c10::free_cpu(base);
  }

  const int64_t budget_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_;
  mutable int64_t cached_ = 0, hits_ = 0, misses_ = 0;
};

BlockCache* BlockCache::instance = nullptr;

}  // namespace

void install_block_cache(int64_t budget_bytes) {
  if (BlockCache::instance != nullptr || budget_bytes <= 0) return;
  // Never destroyed: tensors may be freed during static destruction, after any owner of the cache is gone.
  BlockCache::instance = new BlockCache(budget_bytes);
  c10::SetCPUAllocator(BlockCache::instance, /*priority=*/100);
}

int64_t release_block_cache() { return BlockCache::instance != nullptr ? BlockCache::instance->release() : 0; }

BlockCacheStats block_cache_stats() {
  return BlockCache::instance != nullptr ? BlockCache::instance->stats() : BlockCacheStats{};
}

}  // namespace rexrag
