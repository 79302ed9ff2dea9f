// Attention of packed tokens against a paged KV cache (kv_pages.h): tokens of many rows one after another, no
// padding and no mask, each token seeing its own row's positions [0, position]. Used by generation.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "core/kv_pages.h"

namespace rexrag {

/// Where each packed token sits: its row's page table and its position in the row.
struct PackedTokens {
  std::vector<int64_t> ids;
  std::vector<int64_t> positions;
  std::vector<const std::vector<int32_t>*> tables;
  /// Appends one token of the row whose page table is `table`.
  void add(int64_t id, int64_t position, const std::vector<int32_t>& table) {
    ids.push_back(id);
    positions.push_back(position);
    tables.push_back(&table);
  }
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
};

/// Writes k, v (N, nKV, D) into layer `layer` of the cache at the tokens' positions, then returns
/// softmax(q kᵀ / sqrt(D)) v over each token's positions [0, position] as (N, nH·D), with q (N, nH, D) and
/// query head h reading kv head h / (nH / nKV). Tokens of one row must come in position order.
at::Tensor paged_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, KVPages& cache, int64_t layer,
                           const PackedTokens& tokens);

}  // namespace rexrag
