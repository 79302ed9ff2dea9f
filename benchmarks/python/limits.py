# The machine's limits through libtorch (python3-torch, the same libtorch version as rexrag's): fp32 matmul
# GFLOP/s on a large square product (as rexrag's matmulBenchmark measures it, for a side-by-side check) and
# memory bandwidth: the best of several full reads (sum) and copies of a large float32 tensor.
import torch

from common import fail, now, read_task, setup_threads, write_result


def matmul_gflops(size, reps, seed):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    torch.mm(a, b)  # warm-up
    start = now()
    for _ in range(reps):
        torch.mm(a, b)
    seconds = now() - start
    return 2.0 * size ** 3 * reps / seconds / 1e9


def bandwidth(megabytes, reps):
    """Best read GB/s (x.sum(): every byte read once) and copy GB/s (y.copy_(x): read + write) over `reps`."""
    x = torch.ones(megabytes * 1024 * 1024 // 4)
    y = torch.empty_like(x)
    y.copy_(x)
    nbytes = x.numel() * 4
    read_best = copy_best = 0.0
    for _ in range(reps):
        start = now()
        x.sum()
        read_best = max(read_best, nbytes / (now() - start) / 1e9)
        start = now()
        y.copy_(x)
        copy_best = max(copy_best, 2 * nbytes / (now() - start) / 1e9)
    return read_best, copy_best


def main():
    task = read_task()
    threads = setup_threads(task)
    gflops = matmul_gflops(task["matmulSize"], task["matmulReps"], 0)
    read_gbs, copy_gbs = bandwidth(task["bandwidthMegabytes"], task["bandwidthReps"])
    write_result({
        "ok": True, "threads": threads, "torchVersion": torch.__version__, "matmulGflops": gflops,
        "readGBps": read_gbs, "copyGBps": copy_gbs,
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
