// GRPO (Search-R1's baseline): no probes, every ratio against π_old. The probe budget it reports is the one
// REX-RAG would have at the initial keep ratio, so the two methods' metrics line up column for column.
import { probeBudget } from '../../algo/trajectory-filter.js';
import type { RexConfig } from '../../config/rex-config.js';
import type { RlAlgorithm, StepRollouts } from './types.js';

export class GrpoAlgorithm implements RlAlgorithm {
  readonly name = 'grpo';

  constructor(private readonly rex: RexConfig) {}

  probeHook(): undefined {
    return undefined;
  }

  selectProbes(rollouts: StepRollouts) {
    const rho = this.rex.keepRatio;
    return { kept: [], budget: probeBudget(rollouts.questionsPerStep, rollouts.groupSize, rho, this.rex.budgetMultiple), rho, metrics: {} };
  }

  behaviourLogps(_trajectory: unknown, oldLogps: ArrayLike<number>) {
    return { behaviourLogps: Array.from(oldLogps), errorRateClamped: false };
  }

  advance(): void {}

  state() {
    return { rho: this.rex.keepRatio };
  }
}
