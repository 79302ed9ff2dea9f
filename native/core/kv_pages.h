// The KV cache of a generation session, in pages of kPageTokens positions: every row owns a list of pages (its
// page table), so rows join, grow and leave a batch without copying anyone's keys, and a clone shares its
// parent's full pages (refcounted) and copies only the partly filled last one. Per layer one pool holds the keys
// as (pages, n_kv_heads, head_dim, kPageTokens), a page's keys transposed so that one vector load reads a
// dimension of 16 keys and a query's 16 scores need no horizontal sums, and one pool holds the values as
// (pages, n_kv_heads, kPageTokens, head_dim). Position p of a row is at offset p % kPageTokens of page
// table[p / kPageTokens].
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace rexrag {

class KVPages {
 public:
  static constexpr int64_t kPageTokens = 16;

  KVPages(int64_t layers, int64_t kv_heads, int64_t head_dim, at::TensorOptions options);

  /// Appends pages to `table` until it holds `length` positions.
  void reserve(std::vector<int32_t>& table, int64_t length);
  /// A page table for a clone holding the first `length` positions of `source`: full pages are shared, a
  /// partly filled last page is copied (both rows will write after it).
  std::vector<int32_t> share_prefix(const std::vector<int32_t>& source, int64_t length);
  /// Gives a row's pages back (a shared page is freed when its last holder lets go).
  void release(std::vector<int32_t>& table);

  /// The page holding `position` of a row with page table `table`.
  static int64_t page_of(const std::vector<int32_t>& table, int64_t position) { return table[position / kPageTokens]; }

  at::Tensor& keys(int64_t layer) { return keys_[layer]; }
  at::Tensor& values(int64_t layer) { return values_[layer]; }
  int64_t layers() const { return static_cast<int64_t>(keys_.size()); }
  /// Bytes of the pages rows hold now, every page once.
  int64_t bytes_in_use() const;

 private:
  int32_t take_page();
  void grow();

  int64_t kv_heads_, head_dim_;
  at::TensorOptions options_;
  std::vector<at::Tensor> keys_, values_;
  std::vector<int32_t> holders_;  // per page: how many page tables hold it (0: free)
  std::vector<int32_t> free_;     // free pages, taken from the back
};

}  // namespace rexrag
