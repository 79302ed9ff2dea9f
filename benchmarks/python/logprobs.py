# Per-token log-probs over a [B, T] batch with the full vocabulary, the plain way: one forward pass, the LM
# head over every position (B, T, V), log_softmax, gather. Checks its numbers against rexrag's (sent in the
# task) first; then measures the peak memory of the first full-size pass (after a tiny warm-up) and the best
# time of the repeats.
import torch

from common import (fail, load_model, max_abs_diff, now, peak_rss_bytes, read_task, reset_peak_rss, rss_bytes,
                    setup_threads, write_result)


def full_log_softmax_logps(model, ids):
    positions = torch.arange(ids.shape[1])[None].expand_as(ids)
    hidden, _ = model(ids, positions, torch.ones_like(ids))
    logits = model.logits(hidden).float()  # (B, T, V)
    logp = torch.log_softmax(logits, dim=-1)  # (B, T, V)
    return logp[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)  # (B, T - 1)


def main():
    task = read_task()
    setup_threads(task)
    model = load_model(task)
    ids = torch.tensor(task["sequences"], dtype=torch.long)
    with torch.no_grad():
        full_log_softmax_logps(model, ids[:1, :8])  # warm-up: lazy initialisation is not the workload's memory
        resident = rss_bytes()
        reset_peak_rss()
        start = now()
        logps = full_log_softmax_logps(model, ids)
        cold_seconds = now() - start
        peak = peak_rss_bytes()
        rex = torch.tensor(task["rexragLogps"], dtype=torch.float32)[:, 1:]
        diff = max_abs_diff(logps, rex)
        if diff > task["tolerance"]:
            write_result({"ok": True, "passed": False, "maxAbsDiff": diff, "tolerance": task["tolerance"]})
            return
        del logps
        best = cold_seconds
        for _ in range(task["repeats"]):
            start = now()
            full_log_softmax_logps(model, ids)
            best = min(best, now() - start)
    tokens = ids.numel()
    write_result({
        "ok": True, "passed": True, "maxAbsDiff": diff, "tolerance": task["tolerance"],
        "seconds": best, "tokensPerSecond": tokens / best,
        "residentBytes": resident, "peakBytes": peak, "extraPeakBytes": peak - resident,
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
