// Dot products and scaled additions of float vectors, 8 lanes at a time where the CPU has AVX2 and FMA (chosen
// at run time, so the addon still loads elsewhere): the inner loops of the attention kernels.
#pragma once

#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define REXRAG_VECTOR_AVX2 1
#endif

namespace rexrag {

struct VectorOps {
  float (*dot)(const float* a, const float* b, int64_t n);
  /// out += scale · x
  void (*axpy)(float* out, float scale, const float* x, int64_t n);
};

/// The fastest implementation this CPU runs.
VectorOps vector_ops();

}  // namespace rexrag
