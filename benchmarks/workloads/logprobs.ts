// Per-token log-probs over a [B, T] batch with the full vocabulary: rexrag's chunked scoring (the LM head over
// chunks of positions and slices of the vocabulary with an online log-sum-exp) against the plain way (logits
// for every position, one full log_softmax, gather). Time is the best over rounds (the sides alternate in fresh processes) and repeats;
// memory is the peak resident set during the first full-size pass above what the process held before it
// (VmHWM after a reset, minus VmRSS), after a tiny warm-up pass has paid for lazy initialisation.
import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { runPythonChild, runRexragChild } from '../lib/child.js';
import type { ModelShape } from '../lib/config.js';
import { numberField, weightsPath, type BenchContext, type Workload } from '../lib/context.js';
import { peakRssBytes, resetPeakRss, rssBytes } from '../lib/memory.js';
import { compared, ratioAtLeast, single } from '../lib/report.js';
import { randomSequences } from '../lib/synthetic.js';
import { ensureParity } from './parity.js';

interface LogprobsTask {
  config: NativeQwen2Config;
  seed: number;
  sequences: number[][];
  /** rexrag's chunkSize option; null: the library's default. */
  chunkSize: number | null;
  repeats: number;
}

/** Worker side: a tiny warm-up, memory of the first full-size pass, then the best time of the repeats. */
export async function measureLogprobs(task: LogprobsTask): Promise<Record<string, unknown>> {
  const policy = await Policy.random(task.config, { seed: task.seed });
  const options = task.chunkSize === null ? {} : { chunkSize: task.chunkSize };
  await policy.score([task.sequences[0]!.slice(0, 8)], options);
  const resident = rssBytes();
  resetPeakRss();
  let start = performance.now();
  const { logps } = await policy.score(task.sequences, options);
  let best = (performance.now() - start) / 1000;
  const peak = peakRssBytes();
  for (let repeat = 0; repeat < task.repeats; repeat++) {
    start = performance.now();
    await policy.score(task.sequences, options);
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  policy.dispose();
  const tokens = task.sequences.reduce((sum, row) => sum + row.length, 0);
  return {
    ok: true,
    logps: logps.map((row) => Array.from(row)),
    seconds: best,
    tokensPerSecond: tokens / best,
    residentBytes: resident,
    peakBytes: peak,
    extraPeakBytes: peak - resident,
  };
}

const MiB = 2 ** 20;

/** The answer with the shorter time; memory stays the first round's (it does not depend on load). */
function fasterOf(kept: Record<string, unknown> | undefined, answer: Record<string, unknown>): Record<string, unknown> {
  if (!kept) return answer;
  const time = numberField(answer, 'seconds');
  const keptTime = numberField(kept, 'seconds');
  return time !== null && keptTime !== null && time < keptTime ? { ...kept, seconds: time } : kept;
}

async function runShape(context: BenchContext, shape: ModelShape): Promise<void> {
  const sizes = context.sizes.logprobs;
  const task: LogprobsTask = {
    config: shape.config,
    seed: shape.seed,
    sequences: randomSequences(301, sizes.rows, sizes.tokens, shape.config.vocab_size),
    chunkSize: sizes.chunkSizes[0]!,
    repeats: sizes.repeats * shape.repeatScale,
  };
  const label = `[${sizes.rows}, ${sizes.tokens}] x vocab ${shape.config.vocab_size}`;
  const parity = await ensureParity(context, shape);
  const ours = new Map<number | null, Record<string, unknown>>();  // by chunk size
  let py: Record<string, unknown> | undefined;
  for (let round = 1; round <= sizes.rounds; round++) {
    let checkAgainst: unknown;
    for (const chunkSize of sizes.chunkSizes) {
      context.log(`logprobs ${shape.id}: rexrag, chunkSize ${chunkSize ?? 'default'} (round ${round}/${sizes.rounds})`);
      const answer = await runRexragChild({ workload: 'logprobs', ...task, chunkSize }, context.sizes.threads);
      if (!answer.ok) {
        context.notes.push(`logprobs ${shape.id} (rexrag): ${answer.error}`);
        return;
      }
      ours.set(chunkSize, fasterOf(ours.get(chunkSize), answer));
      checkAgainst ??= answer.logps;
    }
    if (!parity.checked) continue;
    context.log(`logprobs ${shape.id}: PyTorch reference, full log_softmax (round ${round}/${sizes.rounds})`);
    const theirs = await runPythonChild(
      'logprobs',
      { config: shape.config, weights: weightsPath(context, shape), sequences: task.sequences, repeats: task.repeats, tolerance: sizes.tolerance, rexragLogps: checkAgainst },
      context.sizes.threads,
    );
    if (!theirs.ok) {
      context.notes.push(`logprobs ${shape.id} (PyTorch): ${theirs.error}`);
      break;
    }
    if (theirs.passed !== true) {
      context.notes.push(`logprobs ${shape.id}: rexrag and the reference differ by ${numberField(theirs, 'maxAbsDiff')} (tolerance ${sizes.tolerance}); not timed`);
      context.figures.push(single(`logprobs/${shape.id}`, 's', null, { note: 'not timed: results differ' }));
      return;
    }
    py = fasterOf(py, theirs);
  }
  const extra = (answer: Record<string, unknown> | undefined) => {
    const bytes = numberField(answer, 'extraPeakBytes');
    return bytes === null ? null : bytes / MiB;
  };
  for (const [chunkSize, rex] of ours) {
    const prefix = chunkSize === null ? `logprobs/${shape.id}` : `logprobs/${shape.id}/chunk${chunkSize}`;
    const chunking = chunkSize === null ? 'default chunking' : `chunkSize ${chunkSize}`;
    context.figures.push(
      compared(`${prefix}/time`, 's', numberField(rex, 'seconds'), numberField(py, 'seconds'), 'lower', {
        target: ratioAtLeast(1),
        note: `${label}; rexrag ${chunking}; baseline full log_softmax`,
      }),
      compared(`${prefix}/peak_memory_above_model`, 'MiB', extra(rex), extra(py), 'lower', {
        target: ratioAtLeast(4),
        note: `VmHWM - VmRSS before, first pass; max |Δ log p| ${numberField(py, 'maxAbsDiff')?.toExponential(1) ?? '-'}`,
      }),
    );
  }
}

export const logprobsWorkload: Workload = {
  name: 'logprobs',
  description: 'per-token log-probs over [B, T] with the full vocabulary: time and peak memory',
  async run(context: BenchContext) {
    for (const shape of context.sizes.shapes) await runShape(context, shape);
  },
};
