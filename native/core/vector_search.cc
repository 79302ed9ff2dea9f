// Implements vector_search.h. Scores come from one matrix product per chunk of rows; the selection is a bounded
// heap per query with the index's tie rule (equal scores: the lower row wins), the same in every chunk and shard.
// A score itself may differ in its last bit between chunkings (BLAS sums a dot product in an order that depends
// on the matrix shape), so only rows whose scores differ in that bit alone could swap places.
#include "core/vector_search.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace rexrag {
namespace {

using Hit = std::pair<float, int32_t>;  // (score, row)

/// True when a ranks above b: higher score, or the same score and a lower row.
bool better(const Hit& a, const Hit& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); }

/// Offers rows [first, first + count) with their scores to a heap of at most k hits whose top is the worst kept.
void offer(std::vector<Hit>& heap, int64_t k, const float* scores, int64_t first, int64_t count) {
  for (int64_t j = 0; j < count; ++j) {
    const Hit hit{scores[j], static_cast<int32_t>(first + j)};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push_back(hit);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(hit, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = hit;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
}

}  // namespace

void flat_top_k(const float* vectors, int64_t rows, int64_t dim, const float* queries, int64_t query_count, int64_t k,
                int64_t chunk_rows, int32_t* out_indices, float* out_scores) {
  require(rows >= 1 && dim >= 1 && query_count >= 1, "flat search needs at least one row, one query and dim >= 1");
  require(rows <= INT32_MAX, "flat search holds at most 2^31 - 1 rows, got " + std::to_string(rows));
  require(k >= 1 && k <= rows, "k must be in [1, " + std::to_string(rows) + "], got " + std::to_string(k));
  require(chunk_rows >= 1, "chunk_rows must be at least 1, got " + std::to_string(chunk_rows));
  at::NoGradGuard no_grad;  // plain inference on buffers that never need gradients
  const auto options = at::TensorOptions().dtype(at::kFloat);
  // Views of the caller's buffers: nothing is copied.
  at::Tensor corpus = at::from_blob(const_cast<float*>(vectors), {rows, dim}, options);      // (N, D)
  at::Tensor query = at::from_blob(const_cast<float*>(queries), {query_count, dim}, options);  // (Q, D)
  std::vector<std::vector<Hit>> heaps(static_cast<size_t>(query_count));
  for (int64_t first = 0; first < rows; first += chunk_rows) {
    const int64_t count = std::min(chunk_rows, rows - first);
    at::Tensor scores = at::mm(query, corpus.narrow(0, first, count).t()).contiguous();  // (Q, count)
    const float* block = scores.data_ptr<float>();
    at::parallel_for(0, query_count, 1, [&](int64_t begin, int64_t end) {
      for (int64_t q = begin; q < end; ++q) offer(heaps[static_cast<size_t>(q)], k, block + q * count, first, count);
    });
  }
  for (int64_t q = 0; q < query_count; ++q) {
    std::vector<Hit>& heap = heaps[static_cast<size_t>(q)];
    std::sort(heap.begin(), heap.end(), better);
    for (int64_t j = 0; j < k; ++j) {
      out_scores[q * k + j] = heap[static_cast<size_t>(j)].first;
      out_indices[q * k + j] = heap[static_cast<size_t>(j)].second;
    }
  }
}

}  // namespace rexrag
