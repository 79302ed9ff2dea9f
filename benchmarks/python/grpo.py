# One GRPO update the plain PyTorch way: a forward pass over the padded batch, full log_softmax over the
# vocabulary, gather, the clipped policy loss with k3 KL (verl core_algos semantics, token-mean over loss
# tokens), backward, clip_grad_norm_, torch.optim.AdamW. The first update starts from the weights rexrag
# started from and must match rexrag's (loss, gradient norm and the parameter update); then updates are timed.
# With task["autocast"] == "bfloat16" the forward pass runs under torch.autocast("cpu", dtype=torch.bfloat16)
# and the backward pass outside it, as PyTorch recommends; weights and optimizer state stay float32. Two bfloat16
# updates round at different places, and Adam's first step is about lr·sign(g), so gradients that are zero up to
# rounding flip: their cosine says little by itself. Under autocast the check is therefore against the float32
# update: rexrag's bfloat16 update must be about as close to it as PyTorch's own bfloat16 update is.
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


class Cosine:
    """The cosine of two vectors fed in pieces, summed in float64."""

    def __init__(self):
        self.dot = self.a_sq = self.b_sq = 0.0

    def add(self, a, b):
        self.dot += float((a * b).sum(dtype=torch.float64))
        self.a_sq += float((a * a).sum(dtype=torch.float64))
        self.b_sq += float((b * b).sum(dtype=torch.float64))

    def value(self):
        return self.dot / math.sqrt(max(self.a_sq * self.b_sq, 1e-300))


def compare_update(model, task, float32_model=None):
    """Cosine and largest difference between this update and rexrag's, tensor by tensor (low memory); with
    `float32_model` (PyTorch's float32 update from the same start), the cosines of both updates with that one."""
    before_header, before_start = read_header(task["weights"])
    after_header, after_start = read_header(task["rexragWeightsAfter"])
    with_rexrag, ours_to_fp32, theirs_to_fp32 = Cosine(), Cosine(), Cosine()
    max_diff = 0.0
    fp32_parameters = dict(float32_model.named_parameters()) if float32_model is not None else {}
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            before = read_tensor(task["weights"], before_header, before_start, name)
            theirs = read_tensor(task["rexragWeightsAfter"], after_header, after_start, name) - before
            ours = parameter.detach() - before
            with_rexrag.add(ours, theirs)
            max_diff = max(max_diff, float((ours - theirs).abs().max()))
            if name in fp32_parameters:
                fp32 = fp32_parameters[name].detach() - before
                ours_to_fp32.add(ours, fp32)
                theirs_to_fp32.add(theirs, fp32)
    cosines = {"updateCosine": with_rexrag.value(), "updateMaxAbsDiff": max_diff}
    if float32_model is not None:
        cosines["pytorchCosineToFloat32"] = ours_to_fp32.value()
        cosines["rexragCosineToFloat32"] = theirs_to_fp32.value()
    return cosines


def float32_first_update(task, batch):
    """PyTorch's first update from the same start without autocast: the yardstick of the bfloat16 updates."""
    model = load_model(task)
    grpo_update(model, make_optimizer(model, task), batch, {**task, "autocast": "off"})
    return model


def make_optimizer(model, task):
    o = task["optimizer"]
    return torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                             weight_decay=o["weightDecay"])


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
    optimizer = make_optimizer(model, task)
    resident = rss_bytes()
    reset_peak_rss()
    loss, grad_norm = grpo_update(model, optimizer, batch, task)
    first_peak = peak_rss_bytes()
    tol = task["tolerance"]
    checks = None
    if task.get("rexragWeightsAfter"):  # later rounds were checked already and only time the updates
        autocast = task.get("autocast", "off") != "off"
        float32_model = float32_first_update(task, batch) if autocast else None
        rex = task["rexragFirstUpdate"]
        checks = {
            "lossAbsDiff": abs(loss - rex["loss"]),
            "gradNormRelDiff": abs(grad_norm - rex["gradNorm"]) / max(abs(rex["gradNorm"]), 1e-12),
            **compare_update(model, task, float32_model),
        }
        del float32_model
        if autocast:
            close_to_float32 = (checks["rexragCosineToFloat32"]
                                >= checks["pytorchCosineToFloat32"] - tol["float32CosineMargin"])
        else:
            close_to_float32 = checks["updateCosine"] >= tol["updateCosine"]
        passed = (checks["lossAbsDiff"] <= tol["lossAbs"] and checks["gradNormRelDiff"] <= tol["gradNormRel"]
                  and close_to_float32)
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
