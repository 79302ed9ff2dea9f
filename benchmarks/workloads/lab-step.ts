// One whole RL step at the lab's shape (what `npm start` runs 60 times): multi-turn rollouts of the lab's
// length for 16 questions x 5 rollouts (turns of sampled tokens with passages appended between them), scoring
// the finished rows (the behaviour log-probs), and one GRPO update, against the same step written as a plain
// PyTorch eager loop. At this size the work is per-op and per-call overhead, not FLOPs. Both sides run without
// stop strings or EOS, so every row generates every token and the two do identical work.
import type { Policy as PolicyType } from '../../lib/model/policy.js';
import { Policy } from '../../lib/model/policy.js';
import type { NativeQwen2Config } from '../../lib/native-types.js';
import { GrpoTrainer } from '../../lib/train/grpo-trainer.js';
import { runPythonChild, runRexragChild } from '../lib/child.js';
import { LAB_SHAPE, type Sizes } from '../lib/config.js';
import { numberField, type BenchContext, type Workload } from '../lib/context.js';
import { compared, ratioAtLeast, single } from '../lib/report.js';
import { randomObservations, randomSequences } from '../lib/synthetic.js';

interface LabStepTask extends Omit<Sizes['labStep'], 'rounds'> {
  config: NativeQwen2Config;
  seed: number;
  weights: string;
  prompts: number[][];
  observations: number[][][];
  advantages: number[];
  loss: Sizes['grpo']['loss'];
  optimizer: Sizes['grpo']['optimizer'];
}

interface Phases {
  rollout: number;
  score: number;
  update: number;
  total: number;
}

/** The rows of one step: prompt, then per turn the sampled tokens (trained) and the next passage (not trained). */
async function rollout(policy: PolicyType, task: LabStepTask, seed: number): Promise<{ ids: number[][]; lossMask: number[][] }> {
  const session = policy.createSession();
  try {
    const ids = task.prompts.map((prompt) => [...prompt]);
    const lossMask = task.prompts.map((prompt) => prompt.map(() => 0));
    const rows = task.prompts.map((prompt) => session.addRow(prompt));
    for (let turn = 0; turn < task.turns; turn++) {
      if (turn > 0) {
        rows.forEach((row, i) => session.append(row, task.observations[turn - 1]![i]!));
        ids.forEach((row, i) => row.push(...task.observations[turn - 1]![i]!));
        lossMask.forEach((row, i) => row.push(...task.observations[turn - 1]![i]!.map(() => 0)));
      }
      const generated = await session.generate(rows, {
        temperature: task.temperature, topP: 1, topK: 0, seed: seed + turn, maxNewTokens: task.newTokens, stopStrings: [], eosTokenIds: [],
      });
      generated.forEach((row, i) => {
        ids[i]!.push(...row.tokens);
        lossMask[i]!.push(...row.tokens.map(() => 1));
      });
    }
    return { ids, lossMask };
  } finally {
    session.dispose();
  }
}

/** Worker side: a warm-up step, then `steps` timed steps; the fastest step's phases. */
export async function measureLabStep(task: LabStepTask): Promise<Record<string, unknown>> {
  const policy = await Policy.random(task.config, { seed: task.seed });
  await policy.saveWeights(task.weights);
  const trainer = await GrpoTrainer.create(policy, { reference: 'none', loss: task.loss, optimizer: task.optimizer });
  let best: Phases | undefined;
  let tokens = 0;
  for (let step = 0; step <= task.steps; step++) {
    const start = performance.now();
    const { ids, lossMask } = await rollout(policy, task, 1000 * step);
    const rolled = performance.now();
    const { logps } = await policy.score(ids);
    const scored = performance.now();
    const behaviourLogps = logps.map((row) => Array.from(row));
    // The trainer's default step options, as the lab runs it (one mini-batch of the whole step here).
    await trainer.step({ ids, lossMask, behaviourLogps, refLogps: behaviourLogps, advantages: task.advantages }, { miniBatchSize: 0 });
    const end = performance.now();
    tokens = ids.reduce((sum, row) => sum + row.length, 0);
    const phases = { rollout: (rolled - start) / 1000, score: (scored - rolled) / 1000, update: (end - scored) / 1000, total: (end - start) / 1000 };
    if (step > 0 && (!best || phases.total < best.total)) best = phases;  // step 0 warms up
  }
  trainer.dispose();
  policy.dispose();
  return { ok: true, ...best, tokens };
}

function fasterOf(kept: Record<string, unknown> | undefined, answer: Record<string, unknown>): Record<string, unknown> {
  if (!answer.ok) return kept ?? answer;
  return !kept || (numberField(answer, 'total') ?? Infinity) < (numberField(kept, 'total') ?? Infinity) ? answer : kept;
}

export const labStepWorkload: Workload = {
  name: 'lab-step',
  description: "one RL step at the lab's shape (rollouts + scoring + update) against a PyTorch eager loop",
  async run(context: BenchContext) {
    const sizes = context.sizes.labStep;
    const vocab = LAB_SHAPE.config.vocab_size;
    const task: LabStepTask = {
      rows: sizes.rows, promptTokens: sizes.promptTokens, turns: sizes.turns, newTokens: sizes.newTokens,
      observationTokens: sizes.observationTokens, temperature: sizes.temperature, steps: sizes.steps,
      config: LAB_SHAPE.config,
      seed: LAB_SHAPE.seed,
      weights: `${context.tempDir}/lab-step.safetensors`,
      prompts: randomSequences(301, sizes.rows, sizes.promptTokens, vocab),
      observations: randomObservations(302, sizes.turns - 1, sizes.rows, sizes.observationTokens, vocab),
      advantages: Array.from({ length: sizes.rows }, (_, r) => (r % 5 < 2 ? 1 : -0.8)),
      loss: { ...context.sizes.grpo.loss, klCoef: 0 },
      optimizer: { ...context.sizes.grpo.optimizer, lr: 1e-4 },
    };
    let ours: Record<string, unknown> | undefined;
    let theirs: Record<string, unknown> | undefined;
    for (let round = 1; round <= sizes.rounds; round++) {
      context.log(`lab-step: rexrag (round ${round}/${sizes.rounds})`);
      const rex = await runRexragChild({ workload: 'lab-step', ...task }, context.sizes.threads);
      if (!rex.ok) context.notes.push(`lab-step (rexrag): ${rex.error}`);
      ours = fasterOf(ours, rex);
      if (!context.python.available || !rex.ok) continue;
      context.log(`lab-step: PyTorch reference (round ${round}/${sizes.rounds})`);
      const py = await runPythonChild('lab_step', { ...task }, context.sizes.threads);
      if (!py.ok) context.notes.push(`lab-step (PyTorch): ${py.error}`);
      theirs = fasterOf(theirs, py);
    }
    const shape = `${sizes.rows} rows, ${sizes.promptTokens}-token prompts, ${sizes.turns} turns x ${sizes.newTokens} tokens + ${sizes.observationTokens}-token passages`;
    context.figures.push(
      compared('lab-step/total', 's', numberField(ours, 'total'), numberField(theirs, 'total'), 'lower', {
        target: ratioAtLeast(2),
        note: `${LAB_SHAPE.description}; ${shape}; fastest of ${sizes.steps} steps x ${sizes.rounds} rounds`,
      }),
    );
    for (const phase of ['rollout', 'score', 'update'] as const) {
      context.figures.push(compared(`lab-step/${phase}`, 's', numberField(ours, phase), numberField(theirs, phase), 'lower'));
    }
    if (!context.python.available) context.figures.push(single('lab-step/reference', '-', null, { note: 'PyTorch reference not run' }));
  },
};
