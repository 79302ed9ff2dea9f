// Test-only helpers shared by the kernel checks (attention_check.cc, rms_norm_check.cc, checks.cc): the distance to
// a float64 reference and the one-thread bit check.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace rexrag {

/// Largest |a − b|, in float64.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

/// Whether run() (returning a std::vector<at::Tensor>) gives the same bits on one thread as on several: the
/// current thread count, and at least two, so the kernels' split over threads is exercised.
template <typename Run>
bool same_on_one_thread(const Run& run) {
  const int threads = at::get_num_threads();
  auto on = [&](int count) {
    at::set_num_threads(count);
    std::vector<at::Tensor> out = run();
    at::set_num_threads(threads);
    return out;
  };
  const std::vector<at::Tensor> single = on(1), several = on(std::max(2, threads));
  bool same = single.size() == several.size();
  for (size_t i = 0; same && i < single.size(); ++i) same = at::equal(single[i], several[i]);
  return same;
}

}  // namespace rexrag
