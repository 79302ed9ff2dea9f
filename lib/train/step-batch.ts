// From one step's scored rollouts to a training batch, the same for every algorithm: the algorithm's probe
// selection, the mixture scalars over the trained batch, its behaviour log-probs per trajectory, group
// advantages (a probe shares its source's group), and the step's data metrics. Pure bookkeeping over arrays;
// the trainer does the tensor work.
import { groupAdvantages } from '../algo/advantages.js';
import { batchMixture } from '../algo/probe-policy.js';
import { COMPONENT } from '../algo/components.js';
import { probeAccuracy } from '../algo/trajectory-filter.js';
import { TOKEN_KINDS } from '../native-types.js';
import type { Trajectory } from '../rollout/rollout-types.js';
import { mean } from '../util/stats.js';
import type { RlAlgorithm, StepRollouts } from './algorithms/types.js';
import type { TrajectoryBatch } from './grpo-trainer.js';

export interface StepData {
  batch: TrajectoryBatch;
  /** The trajectories trained on (originals, then kept probes), aligned with the batch rows. */
  trained: Trajectory[];
  rewards: number[];
  metrics: Record<string, number>;
}

/** Builds the batch of one step and advances the algorithm's state (REX-RAG's keep ratio). */
export function buildStepData(rollouts: StepRollouts, algorithm: RlAlgorithm): StepData {
  const { trajectories, rewards, oldLogps } = rollouts;
  const originalIndex = trajectories.flatMap((t, i) => (t.isProbe ? [] : [i]));
  const probeIndex = trajectories.flatMap((t, i) => (t.isProbe ? [i] : []));

  const selection = algorithm.selectProbes(rollouts);
  const trainedIndex = [...originalIndex, ...selection.kept];
  const trained = trainedIndex.map((i) => trajectories[i]!);
  const trainedRewards = trainedIndex.map((i) => rewards[i]!);
  const keptRewards = selection.kept.map((i) => rewards[i]!);
  algorithm.advance(keptRewards);

  const mixture = batchMixture(trained.map((t, k) => ({ isProbe: t.isProbe, reward: trainedRewards[k]! })));
  let clamped = false;
  const sequenceRatio: boolean[] = [];
  const behaviour = trainedIndex.map((i) => {
    const result = algorithm.behaviourLogps(trajectories[i]!, oldLogps[i]!, mixture);
    clamped ||= result.errorRateClamped;
    sequenceRatio.push(result.sequenceRatio ?? false);
    return result.behaviourLogps;
  });

  const advantages = groupAdvantages(trainedRewards, trained.map((t) => t.groupId), { eps: 1e-6 });
  const originalRewards = originalIndex.map((i) => rewards[i]!);
  const originalGroups = groupAdvantages(originalRewards, originalIndex.map((i) => trajectories[i]!.groupId));
  const batch: TrajectoryBatch = {
    ids: trained.map((t) => [...t.promptTokens, ...t.responseTokens]),
    lossMask: trained.map((t) => [...t.promptTokens.map(() => 0), ...t.lossMask]),
    behaviourLogps: behaviour.map((row, k) => [...trained[k]!.promptTokens.map(() => 0), ...row]),
    advantages: advantages.advantages,
    tokenKinds: trained.map((t) => tokenKinds(t)),
    ...(sequenceRatio.some(Boolean) ? { sequenceRatio } : {}),
  };
  const originals = originalIndex.map((i) => trajectories[i]!);
  const metrics: Record<string, number> = {
    'reward/mean': mean(originalRewards),
    'reward/with_probes': mean(trainedRewards),
    'deadend/rate': originalGroups.groups.length ? originalGroups.allZeroGroups / originalGroups.groups.length : 0,
    'deadend/after_probes': advantages.groups.length ? advantages.allZeroGroups / advantages.groups.length : 0,
    'probe/generated': probeIndex.length,
    'probe/budget': selection.budget,
    'probe/kept': selection.kept.length,
    'probe/kept_accuracy': probeAccuracy(keptRewards),
    'probe/generated_accuracy': mean(probeIndex.map((i) => rewards[i]!)),
    'probe/rho': selection.rho,
    'is/alpha': mixture.alpha,
    'is/z': mixture.errorRate,
    'is/z_clamped': clamped ? 1 : 0,
    'rollout/searches_mean': mean(originals.map((t) => t.searches.length)),
    'rollout/response_tokens_mean': mean(originals.map((t) => t.responseTokens.length)),
    'rollout/answered_rate': mean(originals.map((t) => (t.finishReason === 'answer' ? 1 : 0))),
    'rollout/generated_tokens': trajectories.reduce((sum, t) => sum + sampledTokens(t), 0),
    ...selection.metrics,
  };
  return { batch, trained, rewards: trainedRewards, metrics };
}

/**
 * Tokens the policy sampled for this trajectory: its model tokens (loss mask 1), except, for a probe, the failed
 * prefix copied from its source and the spliced exploration prompt (neither was sampled for the probe).
 */
export function sampledTokens(t: Trajectory): number {
  let count = 0;
  t.lossMask.forEach((inLoss, k) => {
    const copied = t.isProbe && t.probePromptStart !== null && (k < t.probePromptStart || t.components[k] === COMPONENT['probe-prompt']);
    if (inLoss === 1 && !copied) count += 1;
  });
  return count;
}

/**
 * The kind of each token of a trajectory (prompt included) for the trainer's per-kind diagnostics, as indices
 * into TOKEN_KINDS: an original's tokens are `original`; a probe's are its copied failed prefix, its spliced
 * prompt, then its continuation.
 */
export function tokenKinds(t: Trajectory): Uint8Array {
  const kinds = new Uint8Array(t.promptTokens.length + t.responseTokens.length);
  if (!t.isProbe || t.probePromptStart === null) return kinds;
  const kind = (name: (typeof TOKEN_KINDS)[number]) => TOKEN_KINDS.indexOf(name);
  t.responseTokens.forEach((_, k) => {
    const inPrompt = t.components[k] === COMPONENT['probe-prompt'];
    kinds[t.promptTokens.length + k] = kind(inPrompt ? 'probe_prompt' : k < t.probePromptStart! ? 'probe_prefix' : 'probe_continuation');
  });
  return kinds;
}
