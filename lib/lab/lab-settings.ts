// Sizes of the embedded lab at each scale: 'demo' is what `npm start` runs (a few minutes on 2 cores), 'test' is
// the same pipeline shrunk to seconds for the test suite.
import { rlConfigSchema, type RlConfig } from '../config/rl-config.js';
import type { LabWorldSizes } from '../data/lab-world.js';

export type LabScale = 'demo' | 'test';

export interface LabSettings {
  world: LabWorldSizes;
  model: { layers: number; hidden: number; heads: number; kvHeads: number; intermediate: number };
  demos: { count: number; freshFraction: number; shortcut: Record<string, number> };
  sft: { epochs: number; batchSize: number; lr: number; warmupSteps: number };
  rl: RlConfig;
  /** Evaluate (sampled and greedy, on held-out test questions) every this many RL steps. */
  evalEvery: number;
  /** Sampled rollouts per test question in each evaluation. */
  evalSamples: number;
  /** Test questions evaluated per hop count (the first ones of each template, in world order). */
  evalQuestionsPerTemplate: number;
}

/**
 * The demonstrator's shortcut chance per template: multi-hop templates answer too early now and then, two of
 * them almost always (those are where all-wrong groups, the dead ends REX-RAG targets, come from).
 */
export const LAB_SHORTCUT: Record<string, number> = {
  'country-of-birth/2': 0.5,
  'director-birthplace/2': 0.5,
  'founder-birthplace/2': 0.9,
  'director-country/3': 0.6,
  'founder-country/3': 0.9,
};

/**
 * The regimes of the lab: 'default' (LAB_SHORTCUT: some multi-hop templates are solvable at the warm start) and
 * 'dead-ends', where the demonstrator almost always answers multi-hop questions too early, so no multi-hop
 * template is solvable at the warm start and there is no sibling to transfer from: exploration has to find the
 * extra searches.
 */
export type LabRegime = 'default' | 'dead-ends';
export const LAB_REGIMES: readonly LabRegime[] = ['default', 'dead-ends'];

/** The shortcut chances of a regime. */
export function regimeShortcut(regime: LabRegime): Record<string, number> {
  if (regime === 'default') return { ...LAB_SHORTCUT };
  if (regime === 'dead-ends') return Object.fromEntries(Object.keys(LAB_SHORTCUT).map((id) => [id, 0.97]));
  throw new RangeError(`regime must be one of ${LAB_REGIMES.join(', ')}, got ${JSON.stringify(regime)}`);
}

/**
 * The exploration prompts REX-RAG's probes splice in. 'paper': the reference's 30 English prompts, what real
 * models get. 'lab': prompts in the lab's own language. The lab's model knows no English: the paper's prompts are
 * byte strings it has never produced, its ratios on them sit far below the clip range, and almost no probe
 * continues to a right answer (measured: 3 of about 1,100 in the dead-ends regime). What those prompts ask of a
 * real model, to stop answering and search again, is one tag in the lab's language.
 */
export type LabProbePool = 'paper' | 'lab';
export const LAB_PROBE_POOLS: readonly LabProbePool[] = ['paper', 'lab'];
export const LAB_PROBE_PROMPTS: readonly string[] = ['<search>'];

/** The lab's settings; RL settings are shared by every method except the algorithm and its REX-RAG options. */
export function labSettings(scale: LabScale, seed: number, regime: LabRegime = 'default', probePool: LabProbePool = 'paper'): LabSettings {
  if (!LAB_PROBE_POOLS.includes(probePool)) throw new RangeError(`probePool must be one of ${LAB_PROBE_POOLS.join(', ')}, got ${JSON.stringify(probePool)}`);
  const demo = scale === 'demo';
  const rl = rlConfigSchema.parse({
    steps: demo ? 30 : 2,
    questionsPerStep: demo ? 16 : 4,
    groupSize: demo ? 5 : 3,
    seed,
    rollout: {
      maxTurns: 4, maxResponseTokensPerTurn: 24, maxObservationTokens: 64, maxContextTokens: 512, topk: 1, cohorts: 2,
      promptTemplate: 'compact',
    },
    rex: { keepRatio: 0.12, budgetMultiple: 1, ...(probePool === 'lab' ? { promptPool: [...LAB_PROBE_PROMPTS] } : {}) },
    trainer: { optimizer: { lr: 1e-4, weightDecay: 0, maxGradNorm: 1 }, loss: { klCoef: 0.001 }, step: { miniBatchSize: 0 } },
    eval: { every: 0, maxQuestions: 0 },
    checkpoint: { every: demo ? 10 : 1, keepLast: 1000 },
  });
  return {
    world: demo
      ? { countries: 5, cities: 15, people: 40, films: 25, companies: 25, distractorPeople: 12, distractorCities: 5 }
      : { countries: 2, cities: 3, people: 4, films: 3, companies: 3, distractorPeople: 2, distractorCities: 1 },
    model: demo ? { layers: 2, hidden: 128, heads: 4, kvHeads: 4, intermediate: 512 } : { layers: 1, hidden: 32, heads: 2, kvHeads: 2, intermediate: 64 },
    demos: { count: demo ? 8_000 : 64, freshFraction: 0.7, shortcut: regimeShortcut(regime) },
    sft: { epochs: 1, batchSize: 32, lr: 1e-3, warmupSteps: demo ? 50 : 1 },
    rl,
    evalEvery: demo ? 10 : 1,
    evalSamples: demo ? 2 : 1,
    evalQuestionsPerTemplate: demo ? 25 : 2,
  };
}
