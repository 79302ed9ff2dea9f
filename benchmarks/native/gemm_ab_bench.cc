// Build: g++ -O2 -std=c++17 -Inative -I/usr/include/torch/csrc/api/include benchmarks/native/gemm_ab_bench.cc \
//   native/core/gemm.cc native/core/gemm_ab.cc -o gemm_ab_bench -ltorch -ltorch_cpu -lc10 -fopenmp
// Run: ./gemm_ab_bench [tries] [shape substring] [threads: 1, 2 or 12]. Add -DREXRAG_GEMM_AB_FORCE_AVX2 for the AVX2 build.
// Micro-benchmark: gemm_ab vs at::mm for the linear backward's NN (g·W) and TN (gᵀ·x) products.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>
#include "core/gemm.h"
#include "core/gemm_ab.h"

using namespace rexrag;
struct Shape { const char* name; int64_t M, in, out; };

static double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

template <class F> double best_gflops(F f, double flops, int tries) {
  f();
  double best = 1e30;
  for (int t = 0; t < tries; ++t) {
    int reps = 0; double t0 = seconds(), el;
    do { f(); ++reps; el = seconds() - t0; } while (el < 0.15);
    best = std::min(best, el / reps);
  }
  return flops / best * 1e-9;
}

int main(int argc, char** argv) {
  int tries = argc > 1 ? atoi(argv[1]) : 3;
  const char* only = argc > 2 ? argv[2] : nullptr;
  std::vector<Shape> shapes = {
    {"0.5B q/o 896->896", 1024, 896, 896}, {"0.5B k/v 896->128", 1024, 896, 128},
    {"0.5B up 896->4864", 1024, 896, 4864}, {"0.5B down 4864->896", 1024, 4864, 896},
    {"0.5B head slice 896->8192", 1024, 896, 8192},
    {"lab qkvo 128->128", 13440, 128, 128}, {"lab up 128->512", 13440, 128, 512},
    {"lab down 512->128", 13440, 512, 128}, {"lab head 128->400", 13440, 128, 400},
    {"tail 521x97->259", 521, 97, 259}, {"tail 13x1030->9", 13, 1030, 9}, {"tail 300x50->17", 300, 50, 17},
    {"small 256->256", 1024, 256, 256}, {"small up 256->1024", 1024, 256, 1024},
    {"small down 1024->256", 1024, 1024, 256}, {"small head 256->8192", 1024, 256, 8192},
  };
  auto gen = at::detail::createCPUGenerator(1);
  printf("%-28s %3s | %8s %8s %6s | %8s %8s %6s | err NN ours/mm  err TN ours/mm | same bits\n", "shape", "thr",
         "NN ours", "NN mm", "ratio", "TN ours", "TN mm", "ratio");
  for (const auto& s : shapes) {
    if (only && !strstr(s.name, only)) continue;
    at::Tensor x = at::randn({s.M, s.in}, gen), w = at::randn({s.out, s.in}, gen), g = at::randn({s.M, s.out}, gen);
    at::Tensor gx = at::empty({s.M, s.in}), gw = at::empty({s.out, s.in});
    auto nn = [&] { gemm_ab({g.data_ptr<float>(), s.out, 1}, w.data_ptr<float>(), s.in, gx.data_ptr<float>(), s.M, s.in, s.out, false); };
    auto tn = [&] { gemm_ab({g.data_ptr<float>(), 1, s.out}, x.data_ptr<float>(), s.in, gw.data_ptr<float>(), s.out, s.in, s.M, false); };
    at::Tensor r1, r2;
    auto mm_nn = [&] { r1 = at::mm(g, w); };
    auto mm_tn = [&] { r2 = at::mm(g.t(), x); };
    // accuracy vs float64
    nn(); tn(); mm_nn(); mm_tn();
    at::Tensor ex = at::mm(g.to(at::kDouble), w.to(at::kDouble)), ew = at::mm(g.to(at::kDouble).t(), x.to(at::kDouble));
    auto err = [](const at::Tensor& a, const at::Tensor& e) { return (a.to(at::kDouble) - e).abs().max().item<double>(); };
    double e1 = err(gx, ex), e2 = err(r1, ex), e3 = err(gw, ew), e4 = err(r2, ew);
    at::set_num_threads(1); nn(); tn(); at::Tensor gx1 = gx.clone(), gw1 = gw.clone(); at::set_num_threads(2); nn(); tn();
    bool same = at::equal(gx1, gx) && at::equal(gw1, gw);
    double flops = 2.0 * s.M * s.in * s.out;
    for (int threads : {1, 2}) { if (argc > 3 && !strchr(argv[3], char('0' + threads))) continue;
      at::set_num_threads(threads);
      double a = best_gflops(nn, flops, tries), b = best_gflops(mm_nn, flops, tries);
      double c = best_gflops(tn, flops, tries), d = best_gflops(mm_tn, flops, tries);
      printf("%-28s %3d | %8.1f %8.1f %5.2fx | %8.1f %8.1f %5.2fx | %.1e/%.1e %.1e/%.1e | %s\n", s.name, threads, a, b, a / b, c, d, c / d,
             e1, e2, e3, e4, same ? "yes" : "NO");
      fflush(stdout);
    }
  }
}
