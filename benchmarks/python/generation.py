# Rollout generation throughput of the PyTorch reference: batched sampling with a KV cache and stop strings at
# the batch sizes the task lists, then multi-turn rollouts that append an observation to every row between
# turns (prefilled on top of the cache), and batch generation from a bfloat16 copy of the model. Same prompts,
# observations, sampling settings and token bytes as rexrag.
import copy

import torch

from common import fail, load_model, now, read_task, setup_threads, token_bytes, write_result
from rollout import RolloutBatch


def timed_rollout(model, task, prompts, turns, observations, new_tokens, table, seed):
    """Seconds and generated tokens of one rollout of `turns` turns over `prompts`."""
    generator = torch.Generator().manual_seed(seed)
    start = now()
    batch = RolloutBatch(model, prompts)
    generated = stopped = 0
    for turn in range(turns):
        if turn > 0:
            batch.append(observations[turn - 1][: len(prompts)])
        rows = batch.generate(new_tokens, task["temperature"], task["stopStrings"], task["eosTokenIds"], table,
                              generator)
        generated += sum(len(row["tokens"]) for row in rows)
        stopped += sum(row["stop_reason"] != "length" for row in rows)
    return now() - start, generated, stopped


def measure(model, task, name, prompts, turns, observations, new_tokens, table):
    best = None
    for repeat in range(task["repeats"]):
        seconds, tokens, stopped = timed_rollout(model, task, prompts, turns, observations, new_tokens, table,
                                                 task["seed"] + repeat)
        if best is None or tokens / seconds > best["tokensPerSecond"]:
            best = {"name": name, "seconds": seconds, "tokens": tokens, "tokensPerSecond": tokens / seconds,
                    "stoppedRows": stopped}
    return best


def main():
    task = read_task()
    setup_threads(task)
    model = load_model(task)
    table = token_bytes(task["config"]["vocab_size"])
    prompts = task["prompts"]
    with torch.no_grad():
        timed_rollout(model, task, prompts[:2], 1, [], 4, table, 0)  # warm-up
        cases = []
        for batch in task["batches"]:
            cases.append(measure(model, task, f"batch{batch}", prompts[:batch], 1, [], task["newTokens"], table))
        multi = task["multiTurn"]
        cases.append(measure(model, task, f"multiturn-batch{multi['batch']}", prompts[: multi["batch"]],
                             multi["turns"], task["observations"], multi["newTokens"], table))
        bf16 = copy.deepcopy(model).to(torch.bfloat16)
        timed_rollout(bf16, task, prompts[:2], 1, [], 4, table, 0)  # warm-up
        cases.append(measure(bf16, task, f"bf16-batch{task['bf16Batch']}", prompts[: task["bf16Batch"]], 1, [],
                             task["newTokens"], table))
    write_result({"ok": True, "cases": cases})


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        fail(f"{type(error).__name__}: {error}")
