// REX-RAG (rex-rag-method.md §3–§5): probes at wrong answers with a spliced exploration prompt, the trajectory
// filter within the adaptive budget, and the mixture behaviour policy for every token's ratio. The ablations of
// the paper are switches of the rex config section: `filter`, `correction` and `poolSize`.
import { computeBehaviourLogps } from '../../algo/probe-policy.js';
import { COMPONENT } from '../../algo/components.js';
import { keepRatioInUse, nextKeepRatio, probeAccuracy, probeBudget, scoreProbe, selectProbes } from '../../algo/trajectory-filter.js';
import type { RexConfig } from '../../config/rex-config.js';
import { createProbeTrigger } from '../../explore/probe-trigger.js';
import type { PromptTrie } from '../../explore/prompt-trie.js';
import type { ProbeHook, Trajectory } from '../../rollout/rollout-types.js';
import { mixSeed } from '../../util/random.js';
import { mean } from '../../util/stats.js';
import type { MixtureScalars, ProbeSelection, RlAlgorithm, StepRollouts } from './types.js';

/** The spliced prompt of a probe (its component-5 tokens). */
function probePromptTokens(t: Trajectory): number[] {
  return t.responseTokens.filter((_, k) => t.components[k] === COMPONENT['probe-prompt']);
}

export class RexRagAlgorithm implements RlAlgorithm {
  readonly name = 'rex-rag';
  private rho: number;
  /** Pool index of each prompt's token sequence, to tell which prompt a probe got. */
  private readonly promptIndex = new Map<string, number>();

  constructor(
    private readonly rex: RexConfig,
    private readonly trie: PromptTrie,
    private readonly seed: number,
    state?: { rho: number },
  ) {
    this.rho = state?.rho ?? rex.keepRatio;
    for (let i = trie.size - 1; i >= 0; i--) this.promptIndex.set(trie.promptTokens(i).join(','), i);
  }

  /** The trigger of step `step`: its draws are seeded by (run seed, step). */
  probeHook(step: number): ProbeHook {
    return createProbeTrigger({ trie: this.trie, seed: mixSeed(this.seed, step, 104_729), rex: this.rex });
  }

  /**
   * The top-K probes by mean log π_old of their spliced prompt, K from the adaptive ratio in use (§5); with
   * `filter: false`, every probe. Also the filter's and the probes' diagnostics.
   */
  selectProbes(rollouts: StepRollouts): ProbeSelection {
    const rho = keepRatioInUse(this.rho, this.rex.keepRatio, { cap: this.rex.capKeepRatio });
    const scored = rollouts.trajectories
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => t.isProbe)
      .map(({ t, i }) => ({ rowId: t.rowId, i, score: scoreProbe(rollouts.oldLogps[i]!, t.components) }));
    const budget = this.rex.filter ? probeBudget(rollouts.questionsPerStep, rollouts.groupSize, rho, this.rex.budgetMultiple) : scored.length;
    const { kept, dropped } = selectProbes(scored, budget);
    const keptIndex = kept.map((p) => p.i).sort((a, b) => a - b);
    return { kept: keptIndex, budget, rho, metrics: { ...this.filterMetrics(kept, dropped), ...this.probeMetrics(rollouts, keptIndex) } };
  }

  /** log β_t per token (§4.1): the mixture of π_old and the probe policy the `correction` switch names. */
  behaviourLogps(t: Trajectory, oldLogps: ArrayLike<number>, mixture: MixtureScalars) {
    if (this.rex.correction === 'none') {
      return { behaviourLogps: Array.from(oldLogps), errorRateClamped: false };
    }
    const promptTokens = t.isProbe ? probePromptTokens(t) : [];
    // coarse: the pool's uniform PMF 1/N charged to the prompt's first token, 1 on the others (the reference's
    // commented-out block); mixture: the trie's token-level conditionals.
    const conditionals = !t.isProbe ? [] : this.rex.correction === 'coarse' ? promptTokens.map((_, k) => (k === 0 ? 1 / this.trie.size : 1)) : this.trie.conditionals(promptTokens);
    const result = computeBehaviourLogps(
      {
        oldLogps,
        components: t.components,
        isProbe: t.isProbe,
        probePromptStart: t.probePromptStart,
        promptConditionals: conditionals,
        alpha: mixture.alpha,
        errorRate: mixture.errorRate,
      },
      { minErrorRate: this.rex.minErrorRate },
    );
    // sequence: the same mixture densities, one ratio per probe (the geometric mean of its token ratios).
    return { ...result, sequenceRatio: this.rex.correction === 'sequence' && t.isProbe };
  }

  /** ρ ← 0.9·ρ + 0.1·(accuracy of the kept probes). */
  advance(keptProbeRewards: readonly number[]): void {
    this.rho = nextKeepRatio(this.rho, probeAccuracy(keptProbeRewards));
  }

  state() {
    return { rho: this.rho };
  }

  /** Filter scores (mean log π_old of the spliced prompt) of the kept and the dropped probes. */
  private filterMetrics(kept: { score: number }[], dropped: { score: number }[]): Record<string, number> {
    return {
      'probe/score_kept_mean': mean(kept.map((p) => p.score)),
      'probe/score_dropped_mean': mean(dropped.map((p) => p.score)),
      'probe/dropped': dropped.length,
    };
  }

  /** Groups rescued by a kept probe, and per pool prompt how often it was drawn and led to a correct answer. */
  private probeMetrics(rollouts: StepRollouts, keptIndex: number[]): Record<string, number> {
    const { trajectories, rewards } = rollouts;
    const originalsCorrect = new Map<string | number, boolean>();
    trajectories.forEach((t, i) => {
      if (!t.isProbe) originalsCorrect.set(t.groupId, (originalsCorrect.get(t.groupId) ?? false) || rewards[i]! >= 1);
    });
    const rescued = new Set(keptIndex.filter((i) => rewards[i]! >= 1 && originalsCorrect.get(trajectories[i]!.groupId) === false).map((i) => trajectories[i]!.groupId));
    const metrics: Record<string, number> = { 'probe/rescued_groups': rescued.size };
    trajectories.forEach((t, i) => {
      if (!t.isProbe) return;
      const index = this.promptIndex.get(probePromptTokens(t).join(','));
      if (index === undefined) return;
      metrics[`probe/prompt/${index}/drawn`] = (metrics[`probe/prompt/${index}/drawn`] ?? 0) + 1;
      metrics[`probe/prompt/${index}/correct`] = (metrics[`probe/prompt/${index}/correct`] ?? 0) + (rewards[i]! >= 1 ? 1 : 0);
    });
    return metrics;
  }
}
