// libtorch's CPU allocator with a cache of freed blocks. Every RL step allocates and frees the same tensor sizes
// again and again; glibc returns large blocks to the system (munmap, trimming) and the next step faults the
// pages back in. On this project's reference machine (a VM) a page fault costs about 17 µs, so touching 155 MB
// of fresh memory takes 0.7 s, and on the lab's RL step faults were most of the time. Blocks of 64 KiB and more
// are kept, by size class (steps of 1/8 of a power of two, so a slightly longer sequence reuses a block), up to
// a byte budget; smaller ones go straight to malloc, whose bins already reuse them.
#pragma once

#include <cstdint>

namespace rexrag {

struct BlockCacheStats {
  int64_t cached_bytes = 0;  // freed blocks held for reuse
  int64_t budget_bytes = 0;  // the most it holds; 0 when the cache is not installed
  int64_t hits = 0;          // allocations served from the cache
  int64_t misses = 0;        // cacheable allocations that needed new memory
};

/// Makes the cache libtorch's CPU allocator, holding at most `budget_bytes` of freed blocks (> 0). Tensors
/// allocated before keep their own deleter, so installing it late is safe. Call once, before the heavy work.
void install_block_cache(int64_t budget_bytes);

/// Frees every cached block (memory in use is untouched); returns the bytes released.
int64_t release_block_cache();

BlockCacheStats block_cache_stats();

}  // namespace rexrag
