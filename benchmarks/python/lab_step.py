# One RL step at the lab's shape the plain PyTorch way: multi-turn rollouts with the reference rollout batch
# (KV cache, passages prefilled between turns), a no-grad forward for the behaviour log-probs, then one GRPO
# update (grpo.py's loss, backward, clip_grad_norm_, AdamW). Same prompts, passages and sizes as rexrag; no stop
# strings or EOS, so both sides generate every token.

import torch

from common import fail, load_model, now, read_task, setup_threads, write_result
from grpo import grpo_update
from rollout import RolloutBatch


def rollout(model, task, seed):
    generator = torch.Generator().manual_seed(seed)
    batch = RolloutBatch(model, task["prompts"])
    mask = [[0] * len(p) for p in task["prompts"]]
    for turn in range(task["turns"]):
        if turn > 0:
            observations = task["observations"][turn - 1]
            batch.append(observations)
            for b, obs in enumerate(observations):
                mask[b].extend([0] * len(obs))
        rows = batch.generate(task["newTokens"], task["temperature"], [], [], [], generator)
        for b, row in enumerate(rows):
            mask[b].extend([1] * len(row["tokens"]))
    return batch.tokens, mask


def behaviour_logps(model, ids):
    with torch.no_grad():
        positions = torch.arange(ids.shape[1])[None].expand_as(ids)
        hidden, _ = model(ids, positions, torch.ones_like(ids))
        logits = model.logits(hidden[:, :-1]).float()
        logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return torch.cat([torch.zeros(ids.shape[0], 1), logp], dim=1)  # aligned with ids, 0 for the first token


def main():
    task = read_task()
    setup_threads(task)
    model = load_model(task)
    o = task["optimizer"]
    optimizer = torch.optim.AdamW(model.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                  weight_decay=o["weightDecay"])
    best = None
    tokens = 0
    for step in range(task["steps"] + 1):
        start = now()
        with torch.no_grad():
            rows, mask = rollout(model, task, 1000 * step)
        rolled = now()
        ids = torch.tensor(rows, dtype=torch.long)
        behaviour = behaviour_logps(model, ids)
        scored = now()
        batch = {
            "ids": ids,
            "loss_mask": torch.tensor(mask, dtype=torch.float32),
            "behaviour": behaviour,
            "ref": behaviour,
            "advantages": torch.tensor(task["advantages"], dtype=torch.float32),
        }
        grpo_update(model, optimizer, batch, task)
        end = now()
        tokens = ids.numel()
        phases = {"rollout": rolled - start, "score": scored - rolled, "update": end - scored, "total": end - start}
        if step > 0 and (best is None or phases["total"] < best["total"]):  # step 0 warms up
            best = phases
    write_result({"ok": True, **best, "tokens": tokens})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
