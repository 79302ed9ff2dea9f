// Implements kv_pages.h.
#include "core/kv_pages.h"

#include <algorithm>

#include "core/errors.h"

namespace rexrag {

KVPages::KVPages(int64_t layers, int64_t kv_heads, int64_t head_dim, at::TensorOptions options)
    : kv_heads_(kv_heads), head_dim_(head_dim), options_(options), keys_(layers), values_(layers) {
  for (int64_t l = 0; l < layers; ++l) {
    keys_[l] = at::zeros({0, kv_heads, head_dim, kPageTokens}, options);
    values_[l] = at::zeros({0, kv_heads, kPageTokens, head_dim}, options);
  }
}

void KVPages::grow() {
  // Doubling keeps the copies of a growing session to O(final size) in total.
  const auto pages = static_cast<int64_t>(holders_.size());
  const int64_t grown = std::max<int64_t>(16, 2 * pages);
  for (auto* pools : {&keys_, &values_}) {
    for (at::Tensor& pool : *pools) {
      std::vector<int64_t> shape(pool.sizes().begin(), pool.sizes().end());
      shape[0] = grown;
      at::Tensor bigger = at::zeros(shape, options_);
      bigger.narrow(0, 0, pages).copy_(pool);
      pool = bigger;
    }
  }
  holders_.resize(grown, 0);
  for (int64_t page = grown - 1; page >= pages; --page) free_.push_back(static_cast<int32_t>(page));
}

int32_t KVPages::take_page() {
  if (free_.empty()) grow();
  const int32_t page = free_.back();
  free_.pop_back();
  holders_[page] = 1;
  return page;
}

void KVPages::reserve(std::vector<int32_t>& table, int64_t length) {
  while (static_cast<int64_t>(table.size()) * kPageTokens < length) table.push_back(take_page());
}

std::vector<int32_t> KVPages::share_prefix(const std::vector<int32_t>& source, int64_t length) {
  require(length <= static_cast<int64_t>(source.size()) * kPageTokens, "share_prefix past the source's pages");
  std::vector<int32_t> table;
  const int64_t full = length / kPageTokens, partial = length % kPageTokens;
  for (int64_t p = 0; p < full; ++p) {
    table.push_back(source[p]);
    holders_[source[p]] += 1;
  }
  if (partial > 0) {
    // The whole page is copied; its positions past `partial` are rewritten before anything reads them.
    const int32_t page = take_page();
    for (auto* pools : {&keys_, &values_}) {
      for (at::Tensor& pool : *pools) pool[page].copy_(pool[source[full]]);
    }
    table.push_back(page);
  }
  return table;
}

void KVPages::release(std::vector<int32_t>& table) {
  for (int32_t page : table) {
    if (--holders_[page] == 0) free_.push_back(page);
  }
  table.clear();
}

int64_t KVPages::bytes_in_use() const {
  const auto used = std::count_if(holders_.begin(), holders_.end(), [](int32_t n) { return n > 0; });
  const int64_t page_bytes = kPageTokens * kv_heads_ * head_dim_ * static_cast<int64_t>(at::elementSize(at::typeMetaToScalarType(options_.dtype())));
  return used * page_bytes * 2 * layers();
}

}  // namespace rexrag
