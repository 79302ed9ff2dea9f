# Shared plumbing of the PyTorch reference benchmarks: the JSON task on stdin and the JSON answer on stdout,
# thread setup, timing and per-process peak memory. The model is in qwen2.py, the weights reader in
# safetensors_io.py; each workload script holds only its own measurement.
import json
import os
import sys
import time
import traceback

import torch


def read_task():
    """The task the Node orchestrator sent on stdin (one JSON object)."""
    return json.loads(sys.stdin.read())


def write_result(result):
    """Prints the answer as one JSON line on stdout, the only thing the orchestrator parses."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def fail(message):
    """Reports a failure the orchestrator shows in its table (traceback on stderr), then exits non-zero."""
    traceback.print_exc(file=sys.stderr)
    write_result({"ok": False, "error": message})
    sys.exit(1)


def setup_threads(task):
    """Same intra-op thread count as rexrag (OMP_NUM_THREADS is also set by the orchestrator)."""
    threads = int(task.get("threads", os.cpu_count() or 1))
    torch.set_num_threads(threads)
    return threads


def now():
    return time.perf_counter()


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no " + field + " in /proc/self/status")


def rss_bytes():
    """Resident set size now (VmRSS)."""
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes():
    """Peak resident set size since the process started or since reset_peak_rss() (VmHWM)."""
    return _status_kib("VmHWM") * 1024


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0: writing 5 to /proc/self/clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def max_abs_diff(a, b):
    """Largest |a - b| over two equally long sequences (or tensors)."""
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    if a.numel() == 0:
        return 0.0
    return float((a - b).abs().max())


LETTERS = "abcdefghijklmnopqrstuvwxyz"
SPECIAL_PIECES = {1: b"<|im_end|>", 2: b"</search>", 3: b"</answer>"}  # counted from the end of the vocabulary


def token_bytes(vocab_size):
    """The synthetic byte string of every token id; mirrors benchmarks/lib/synthetic.ts tokenBytes()."""
    table = []
    for i in range(vocab_size):
        special = SPECIAL_PIECES.get(vocab_size - i)
        if special is not None:
            table.append(special)
            continue
        third = " " if i % 5 == 0 else LETTERS[(i * 7) % 26]
        table.append((LETTERS[i % 26] + LETTERS[(i // 26) % 26] + third).encode("ascii"))
    return table


def load_model(task):
    """The Qwen2 reference holding the weights rexrag saved (task["weights"], task["config"])."""
    from qwen2 import load_qwen2
    from safetensors_io import read_safetensors

    tensors = read_safetensors(task["weights"])
    model = load_qwen2(task["config"], tensors)
    del tensors
    return model
