# Parity of the PyTorch reference with rexrag on the same weights, before anything is timed: teacher-forced
# per-token log-probs of the given sequences, and a greedy batched generation (tokens and their log-probs).
# rexrag's numbers come in the task; the answer says how far apart they are and whether that is within tolerance.
import torch

from common import fail, load_model, max_abs_diff, read_task, setup_threads, write_result
from rollout import RolloutBatch


def teacher_forced_logps(model, sequence):
    ids = torch.tensor([sequence], dtype=torch.long)
    positions = torch.arange(len(sequence))[None]
    hidden, _ = model(ids, positions, torch.ones_like(ids))
    logp = torch.log_softmax(model.logits(hidden).float(), dim=-1)
    picked = logp[0, :-1].gather(-1, ids[0, 1:, None]).squeeze(-1)
    return [0.0] + picked.tolist()


def main():
    task = read_task()
    setup_threads(task)
    model = load_model(task)
    tolerance = task["tolerance"]
    rex = task["rexrag"]
    with torch.no_grad():
        logp_diff = 0.0
        for sequence, rex_logps in zip(task["sequences"], rex["logps"]):
            logp_diff = max(logp_diff, max_abs_diff(teacher_forced_logps(model, sequence), rex_logps))
        generation = task["generation"]
        batch = RolloutBatch(model, generation["prompts"])
        rows = batch.generate(generation["maxNewTokens"], 0.0, [], [], [])
    tokens_equal = all(row["tokens"] == rex_tokens for row, rex_tokens in zip(rows, rex["generatedTokens"]))
    gen_diff = 0.0
    for row, rex_row in zip(rows, rex["generatedLogprobs"]):
        n = min(len(row["model_logprobs"]), len(rex_row))
        gen_diff = max(gen_diff, max_abs_diff(row["model_logprobs"][:n], rex_row[:n]))
    passed = logp_diff <= tolerance and gen_diff <= tolerance and tokens_equal
    write_result({
        "ok": True,
        "passed": passed,
        "logpMaxAbsDiff": logp_diff,
        "generationLogpMaxAbsDiff": gen_diff,
        "generationTokensEqual": tokens_equal,
        "tolerance": tolerance,
    })


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # reported in the benchmark table, not as a traceback
        fail(f"{type(error).__name__}: {error}")
