// Test-only helpers shared by the kernel checks (attention_check.cc, rms_norm_check.cc): the distance to a float64
// reference and the one-thread bit check.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

namespace rexrag {

/// Largest |a − b|, in float64.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/// Whether run() on one thread returns the same bits as `several` (its results on the current thread count).
template <typename Run>
bool same_on_one_thread(const Run& run, const std::vector<at::Tensor>& several) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const std::vector<at::Tensor> single = run();
  at::set_num_threads(threads);
  bool same = single.size() == several.size();
  for (size_t i = 0; same && i < single.size(); ++i) same = at::equal(single[i], several[i]);
  return same;
}

}  // namespace rexrag
