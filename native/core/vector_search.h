// Exact maximum-inner-product search: the flat baseline and fallback of the dense retrieval index.
// Torch-free header so the N-API layer compiles without libtorch's heavy includes.
#pragma once

#include <cstdint>

namespace rexrag {

/// For each of `query_count` queries (row-major, query_count x dim), the `k` rows of `vectors` (rows x dim) with
/// the largest inner product, best first, written to out_indices / out_scores (query_count x k each). Scores come
/// from one matrix product per chunk of `chunk_rows` rows, so memory stays at query_count x chunk_rows floats
/// however large the corpus. Requires 1 <= k <= rows. Of rows with equal scores, the lower row ranks first.
void flat_top_k(const float* vectors, int64_t rows, int64_t dim, const float* queries, int64_t query_count, int64_t k,
                int64_t chunk_rows, int32_t* out_indices, float* out_scores);

}  // namespace rexrag
