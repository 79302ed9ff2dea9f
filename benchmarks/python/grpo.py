# One GRPO update the plain PyTorch way: a forward pass over the padded batch, full log_softmax over the
# vocabulary, gather, the clipped policy loss with k3 KL (verl core_algos semantics, token-mean over loss
# tokens), backward, clip_grad_norm_, torch.optim.AdamW. The first update starts from the weights rexrag
# started from and must match rexrag's (loss, gradient norm and the parameter update); then updates are timed.
# With task["autocast"] == "bfloat16" the forward pass runs under torch.autocast("cpu", dtype=torch.bfloat16)
# and the backward pass outside it, as PyTorch recommends; weights and optimizer state stay float32.
import contextlib
import math

import torch

from common import (fail, load_model, now, peak_rss_bytes, read_task, reset_peak_rss, rss_bytes, setup_threads,
                    write_result)
from safetensors_io import read_header, read_tensor


def grpo_loss(model, batch, loss_options):
    ids = batch["ids"]
    positions = torch.arange(ids.shape[1])[None].expand_as(ids)
    hidden, _ = model(ids, positions, torch.ones_like(ids))
    logits = model.logits(hidden[:, :-1]).float()  # (B, T - 1, V)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)  # (B, T - 1)
    mask = batch["loss_mask"][:, 1:]
    advantages = batch["advantages"][:, None]
    ratio = torch.exp(logp - batch["behaviour"][:, 1:])
    clipped = ratio.clamp(1 - loss_options["clipLow"], 1 + loss_options["clipHigh"])
    pg = torch.maximum(-advantages * ratio, -advantages * clipped)
    d = (batch["ref"][:, 1:] - logp).clamp(-20, 20)
    kl = (torch.exp(d) - d - 1).clamp(-10, 10)  # k3, "low_var_kl"
    return ((pg + loss_options["klCoef"] * kl) * mask).sum() / mask.sum()


def forward_precision(task):
    """The autocast region of the forward pass: bfloat16 autocast, or nothing (float32)."""
    if task.get("autocast", "off") == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def grpo_update(model, optimizer, batch, task):
    optimizer.zero_grad(set_to_none=True)
    with forward_precision(task):
        loss = grpo_loss(model, batch, task["loss"])
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), task["optimizer"]["maxGradNorm"])
    optimizer.step()
    return float(loss), float(grad_norm)


def compare_update(model, task):
    """Cosine and largest difference between this update and rexrag's, tensor by tensor (low memory)."""
    before_header, before_start = read_header(task["weights"])
    after_header, after_start = read_header(task["rexragWeightsAfter"])
    dot = ours_sq = theirs_sq = 0.0
    max_diff = 0.0
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            before = read_tensor(task["weights"], before_header, before_start, name)
            theirs = read_tensor(task["rexragWeightsAfter"], after_header, after_start, name) - before
            ours = parameter.detach() - before
            dot += float((ours * theirs).sum(dtype=torch.float64))
            ours_sq += float((ours * ours).sum(dtype=torch.float64))
            theirs_sq += float((theirs * theirs).sum(dtype=torch.float64))
            max_diff = max(max_diff, float((ours - theirs).abs().max()))
    return dot / math.sqrt(max(ours_sq * theirs_sq, 1e-300)), max_diff


def main():
    task = read_task()
    setup_threads(task)
    model = load_model(task)
    data = task["batch"]
    batch = {
        "ids": torch.tensor(data["ids"], dtype=torch.long),
        "loss_mask": torch.tensor(data["lossMask"], dtype=torch.float32),
        "behaviour": torch.tensor(data["behaviourLogps"], dtype=torch.float32),
        "ref": torch.tensor(data["refLogps"], dtype=torch.float32),
        "advantages": torch.tensor(data["advantages"], dtype=torch.float32),
    }
    o = task["optimizer"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                  weight_decay=o["weightDecay"])
    resident = rss_bytes()
    reset_peak_rss()
    loss, grad_norm = grpo_update(model, optimizer, batch, task)
    first_peak = peak_rss_bytes()
    tol = task["tolerance"]
    checks = None
    if task.get("rexragWeightsAfter"):  # later rounds were checked already and only time the updates
        cosine, max_diff = compare_update(model, task)
        rex = task["rexragFirstUpdate"]
        checks = {
            "lossAbsDiff": abs(loss - rex["loss"]),
            "gradNormRelDiff": abs(grad_norm - rex["gradNorm"]) / max(abs(rex["gradNorm"]), 1e-12),
            "updateCosine": cosine,
            "updateMaxAbsDiff": max_diff,
        }
        passed = (checks["lossAbsDiff"] <= tol["lossAbs"] and checks["gradNormRelDiff"] <= tol["gradNormRel"]
                  and cosine >= tol["updateCosine"])
        if not passed:
            write_result({"ok": True, "passed": False, "checks": checks, "tolerance": tol})
            return
    reset_peak_rss()  # the comparison above read weight files; it is not part of the update
    best = math.inf
    for _ in range(max(1, task["timedUpdates"])):
        start = now()
        grpo_update(model, optimizer, batch, task)
        best = min(best, now() - start)
    tokens = batch["ids"].numel()
    write_result({
        "ok": True, "passed": True, "checks": checks, "tolerance": tol,
        "loss": loss, "gradNorm": grad_norm,
        "seconds": best, "tokensPerSecond": tokens / best,
        "residentBytes": resident, "peakBytes": max(first_peak, peak_rss_bytes()),
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
