// REX-RAG (rex-rag-method.md §3–§5): probes at wrong answers with a spliced exploration prompt, the trajectory
// filter within the adaptive budget, and the mixture behaviour policy for every token's ratio.
import { computeBehaviourLogps } from '../../algo/probe-policy.js';
import { COMPONENT } from '../../algo/components.js';
import { keepRatioInUse, nextKeepRatio, probeAccuracy, probeBudget, scoreProbe, selectProbes } from '../../algo/trajectory-filter.js';
import type { RexConfig } from '../../config/rex-config.js';
import { createProbeTrigger } from '../../explore/probe-trigger.js';
import type { PromptTrie } from '../../explore/prompt-trie.js';
import type { ProbeHook, Trajectory } from '../../rollout/rollout-types.js';
import type { MixtureScalars, RlAlgorithm, StepRollouts } from './types.js';

export class RexRagAlgorithm implements RlAlgorithm {
  readonly name = 'rex-rag';
  private rho: number;

  constructor(
    private readonly rex: RexConfig,
    private readonly trie: PromptTrie,
    private readonly seed: number,
    state?: { rho: number },
  ) {
    this.rho = state?.rho ?? rex.keepRatio;
  }

  /** The trigger of step `step`: its draws are seeded by (run seed, step). */
  probeHook(step: number): ProbeHook {
    return createProbeTrigger({ trie: this.trie, seed: this.seed * 104_729 + step, rex: this.rex });
  }

  /** The top-K probes by mean log π_old of their spliced prompt, K from the adaptive ratio (§5). */
  selectProbes(rollouts: StepRollouts) {
    const rho = keepRatioInUse(this.rho, this.rex.keepRatio, { cap: this.rex.capKeepRatio });
    const budget = probeBudget(rollouts.questionsPerStep, rollouts.groupSize, rho, this.rex.budgetMultiple);
    const scored = rollouts.trajectories
      .map((t, i) => ({ t, i }))
      .filter(({ t }) => t.isProbe)
      .map(({ t, i }) => ({ rowId: t.rowId, i, score: scoreProbe(rollouts.oldLogps[i]!, t.components) }));
    const { kept } = selectProbes(scored, budget);
    return { kept: kept.map((p) => p.i).sort((a, b) => a - b), budget, rho: this.rho };
  }

  /** log β_t per token: the mixture of π_old and the probe policy (§4.1). */
  behaviourLogps(t: Trajectory, oldLogps: ArrayLike<number>, mixture: MixtureScalars) {
    const promptTokens = t.isProbe ? t.responseTokens.filter((_, k) => t.components[k] === COMPONENT['probe-prompt']) : [];
    return computeBehaviourLogps(
      {
        oldLogps,
        components: t.components,
        isProbe: t.isProbe,
        probePromptStart: t.probePromptStart,
        promptConditionals: t.isProbe ? this.trie.conditionals(promptTokens) : [],
        alpha: mixture.alpha,
        errorRate: mixture.errorRate,
      },
      { minErrorRate: this.rex.minErrorRate },
    );
  }

  /** ρ ← 0.9·ρ + 0.1·(accuracy of the kept probes). */
  advance(keptProbeRewards: readonly number[]): void {
    this.rho = nextKeepRatio(this.rho, probeAccuracy(keptProbeRewards));
  }

  state() {
    return { rho: this.rho };
  }
}
