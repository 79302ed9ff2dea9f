// Parity before timing: rexrag creates a shape's random weights and saves them (safetensors, HF names); the
// PyTorch reference loads that file and must reproduce rexrag's teacher-forced per-token log-probs and a greedy
// batched generation (same tokens, log-probs within tolerance). Workloads that time a model call
// ensureParity() first; a shape that fails is reported and not timed.
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { Policy } from '../../lib/model/policy.js';
import { runPythonChild, runRexragChild } from '../lib/child.js';
import type { ModelShape } from '../lib/config.js';
import { numberField, weightsPath, type BenchContext, type ParityVerdict, type Workload } from '../lib/context.js';
import { single } from '../lib/report.js';
import { randomPrompts, randomSequences } from '../lib/synthetic.js';

interface ParityTask {
  config: NativeQwen2Config;
  seed: number;
  weights: string;
  sequences: number[][];
  generation: { prompts: number[][]; maxNewTokens: number };
}

/** Worker side: create the weights, save them, and compute what the reference must reproduce. */
export async function measureParity(task: ParityTask): Promise<Record<string, unknown>> {
  const policy = await Policy.random(task.config, { seed: task.seed });
  await policy.saveWeights(task.weights);
  const { logps } = await policy.score(task.sequences);
  const session = policy.createSession();
  const rows = task.generation.prompts.map((prompt) => session.addRow(prompt));
  const generated = await session.generate(rows, {
    temperature: 0, topP: 1, topK: 0, seed: 0, maxNewTokens: task.generation.maxNewTokens, stopStrings: [], eosTokenIds: [],
  });
  session.dispose();
  policy.dispose();
  return {
    ok: true,
    logps: logps.map((row) => Array.from(row)),
    generatedTokens: generated.map((row) => row.tokens),
    generatedLogprobs: generated.map((row) => row.modelLogprobs),
  };
}

/** Runs the parity check of `shape` once per run (it also writes the weights file) and returns its verdict. */
export async function ensureParity(context: BenchContext, shape: ModelShape): Promise<ParityVerdict> {
  const known = context.parity.get(shape.id);
  if (known) return known;
  const sizes = context.sizes.parity;
  const vocab = shape.config.vocab_size;
  const task: ParityTask = {
    config: shape.config,
    seed: shape.seed,
    weights: weightsPath(context, shape),
    sequences: randomSequences(101, sizes.sequences, sizes.sequenceTokens, vocab),
    generation: {
      prompts: randomPrompts(102, sizes.generationRows, sizes.generationPromptTokens, vocab),
      maxNewTokens: sizes.generationTokens,
    },
  };
  context.log(`parity ${shape.id}: rexrag creates and saves the weights`);
  const rex = await runRexragChild({ workload: 'parity', ...task }, context.sizes.threads);
  let verdict: ParityVerdict;
  if (!rex.ok) {
    verdict = { checked: false, passed: false, detail: `rexrag failed: ${rex.error}` };
  } else if (!context.python.available) {
    verdict = { checked: false, passed: false, detail: context.python.reason };
  } else {
    context.log(`parity ${shape.id}: PyTorch reference`);
    const py = await runPythonChild('parity', { ...task, tolerance: sizes.tolerance, rexrag: rex }, context.sizes.threads);
    if (!py.ok) {
      verdict = { checked: false, passed: false, detail: `reference failed: ${py.error}` };
    } else {
      const logpDiff = numberField(py, 'logpMaxAbsDiff');
      const genDiff = numberField(py, 'generationLogpMaxAbsDiff');
      const tokensEqual = py.generationTokensEqual === true;
      const passed = py.passed === true;
      verdict = {
        checked: true,
        passed,
        detail: `teacher-forced max |Δ log p| ${logpDiff?.toExponential(2)}, greedy tokens ${tokensEqual ? 'equal' : 'DIFFER'}, ` +
          `their max |Δ log p| ${genDiff?.toExponential(2)} (tolerance ${sizes.tolerance})`,
      };
      const within = (value: number | null) => ({ description: `<= ${sizes.tolerance}`, met: value !== null && value <= sizes.tolerance });
      context.figures.push(
        single(`parity/${shape.id}/logprob_max_abs_diff`, 'nats', logpDiff, { target: within(logpDiff), note: 'teacher-forced, vs PyTorch' }),
        single(`parity/${shape.id}/greedy_tokens_equal`, 'bool', tokensEqual ? 1 : 0, {
          target: { description: '= 1', met: tokensEqual },
          note: `${sizes.generationRows} rows x ${sizes.generationTokens} greedy tokens`,
        }),
        single(`parity/${shape.id}/greedy_logprob_max_abs_diff`, 'nats', genDiff, { target: within(genDiff) }),
      );
    }
  }
  if (!verdict.passed) context.notes.push(`parity ${shape.id}: ${verdict.detail}`);
  context.parity.set(shape.id, verdict);
  return verdict;
}

export const parityWorkload: Workload = {
  name: 'parity',
  description: 'rexrag and the PyTorch reference compute the same log-probs and greedy tokens',
  async run(context: BenchContext) {
    for (const shape of context.sizes.shapes) await ensureParity(context, shape);
  },
};
