// From one step's rollouts to a training batch: rewards, REX-RAG's trajectory filter and adaptive budget, the
// mixture scalars α and z, per-token behaviour log-probs (π_old for GRPO, log β_t for REX-RAG), group advantages,
// and the metrics of the step's data. Pure bookkeeping over arrays; the trainer does the tensor work.
import { groupAdvantages } from '../algo/advantages.js';
import { batchMixture, computeBehaviourLogps } from '../algo/probe-policy.js';
import { nextKeepRatio, probeAccuracy, probeBudget, scoreProbe, selectProbes } from '../algo/trajectory-filter.js';
import type { RlConfig } from '../config/rl-config.js';
import type { PromptTrie } from '../explore/prompt-trie.js';
import { COMPONENT } from '../rollout/components.js';
import type { Trajectory } from '../rollout/rollout-types.js';
import type { TrajectoryBatch } from './grpo-trainer.js';

export interface StepData {
  batch: TrajectoryBatch;
  /** The trajectories trained on (originals, then kept probes), aligned with the batch rows. */
  trained: Trajectory[];
  rewards: number[];
  /** The adaptive keep ratio for the next step (REX-RAG; unchanged for GRPO). */
  nextRho: number;
  metrics: Record<string, number>;
}

/**
 * Builds the batch of one step. `oldLogps[i]` are π_old log-probs of trajectory i's response tokens (recomputed
 * by scoring, as the reference's actor does), `rewards[i]` its outcome reward.
 */
export function buildStepData(
  trajectories: Trajectory[],
  rewards: number[],
  oldLogps: ArrayLike<number>[],
  options: { config: RlConfig; rho: number; trie?: PromptTrie; questionsPerStep: number },
): StepData {
  const { config, rho } = options;
  const originals = trajectories.map((t, i) => ({ t, i })).filter(({ t }) => !t.isProbe);
  const probes = trajectories.map((t, i) => ({ t, i })).filter(({ t }) => t.isProbe);

  // Trajectory filter (§5): keep the probes whose spliced prompt the policy finds most likely, within the budget.
  const budget = probeBudget(options.questionsPerStep, config.groupSize, config.rex.capKeepRatio ? Math.min(rho, config.rex.keepRatio) : rho, config.rex.budgetMultiple);
  const scored = probes.map(({ t, i }) => ({ rowId: t.rowId, i, score: scoreProbe(oldLogps[i]!, t.components) }));
  const { kept } = selectProbes(scored, budget);
  const keptIndex = kept.map((p) => p.i).sort((a, b) => a - b);
  const trainedIndex = [...originals.map(({ i }) => i), ...keptIndex];
  const trained = trainedIndex.map((i) => trajectories[i]!);
  const trainedRewards = trainedIndex.map((i) => rewards[i]!);
  const keptAccuracy = probeAccuracy(keptIndex.map((i) => rewards[i]!));
  const nextRho = config.algorithm === 'rex-rag' ? nextKeepRatio(rho, keptAccuracy) : rho;

  // Policy correction (§4): the mixture scalars over the trained batch, then log β_t per token.
  const mixture = batchMixture(trained.map((t, k) => ({ isProbe: t.isProbe, reward: trainedRewards[k]! })));
  let weightMax = 0;
  let clamped = false;
  const behaviour = trainedIndex.map((i) => {
    const t = trajectories[i]!;
    if (config.algorithm === 'grpo') return Array.from(oldLogps[i]!);
    const promptTokens = t.isProbe ? t.responseTokens.filter((_, k) => t.components[k] === COMPONENT['probe-prompt']) : [];
    const result = computeBehaviourLogps(
      {
        oldLogps: oldLogps[i]!,
        components: t.components,
        isProbe: t.isProbe,
        probePromptStart: t.probePromptStart,
        promptConditionals: t.isProbe ? options.trie!.conditionals(promptTokens) : [],
        alpha: mixture.alpha,
        errorRate: mixture.errorRate,
      },
      { minErrorRate: config.rex.minErrorRate },
    );
    clamped ||= result.errorRateClamped;
    result.isWeights.forEach((w, k) => t.lossMask[k] && (weightMax = Math.max(weightMax, w)));
    return result.behaviourLogps;
  });

  // Group advantages over each question's originals and kept probes (a probe shares its source's group).
  const advantages = groupAdvantages(trainedRewards, trained.map((t) => t.groupId), {
    eps: 1e-6,
  });
  const originalGroups = groupAdvantages(originals.map(({ i }) => rewards[i]!), originals.map(({ t }) => t.groupId));

  const batch: TrajectoryBatch = {
    ids: trained.map((t) => [...t.promptTokens, ...t.responseTokens]),
    lossMask: trained.map((t) => [...t.promptTokens.map(() => 0), ...t.lossMask]),
    behaviourLogps: behaviour.map((row, k) => [...trained[k]!.promptTokens.map(() => 0), ...row]),
    advantages: advantages.advantages,
  };
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  const originalRewards = originals.map(({ i }) => rewards[i]!);
  const metrics: Record<string, number> = {
    'reward/mean': mean(originalRewards),
    'reward/with_probes': mean(trainedRewards),
    'deadend/rate': originalGroups.groups.length ? originalGroups.allZeroGroups / originalGroups.groups.length : 0,
    'deadend/after_probes': advantages.groups.length ? advantages.allZeroGroups / advantages.groups.length : 0,
    'probe/generated': probes.length,
    'probe/budget': budget,
    'probe/kept': keptIndex.length,
    'probe/kept_accuracy': keptAccuracy,
    'probe/generated_accuracy': mean(probes.map(({ i }) => rewards[i]!)),
    'probe/rho': rho,
    'is/alpha': mixture.alpha,
    'is/z': mixture.errorRate,
    'is/z_clamped': clamped ? 1 : 0,
    'is/weight_max': config.algorithm === 'rex-rag' ? weightMax : 1,
    'rollout/searches_mean': mean(trajectories.filter((t) => !t.isProbe).map((t) => t.searches.length)),
    'rollout/response_tokens_mean': mean(trajectories.filter((t) => !t.isProbe).map((t) => t.responseTokens.length)),
    'rollout/answered_rate': mean(trajectories.filter((t) => !t.isProbe).map((t) => (t.finishReason === 'answer' ? 1 : 0))),
  };
  return { batch, trained, rewards: trainedRewards, nextRho, metrics };
}
