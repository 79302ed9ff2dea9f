// The interface every RL algorithm implements: what happens around the shared rollout → score → update step.
// GRPO and REX-RAG differ only in these decisions; the loop (rl-loop.ts) and the batch assembly
// (step-batch.ts) are the same for both.
import type { ProbeHook, Trajectory } from '../../rollout/rollout-types.js';

/** Everything one step's rollouts produced, scored. Arrays are aligned with `trajectories`. */
export interface StepRollouts {
  trajectories: Trajectory[];
  /** Outcome reward of each trajectory (EM). */
  rewards: number[];
  /** π_old log-probs of each trajectory's response tokens. */
  oldLogps: ArrayLike<number>[];
  questionsPerStep: number;
  groupSize: number;
}

/** Which probes are trained on, and the filter's figures for the metrics. */
export interface ProbeSelection {
  /** Indices (into `trajectories`) of the kept probes, ascending. */
  kept: number[];
  /** The filter's budget K this step. */
  budget: number;
  /** The keep ratio this step's budget came from (capped when capKeepRatio is on). */
  rho: number;
  /** The algorithm's own diagnostics of the selection, logged with the step. */
  metrics: Record<string, number>;
}

/** The mixture scalars of the trained batch (rex-rag-method.md §4.1). */
export interface MixtureScalars {
  alpha: number;
  errorRate: number;
}

/** Log-probs the PPO ratio of one trajectory is taken against, and whether z had to be clamped. */
export interface BehaviourLogps {
  behaviourLogps: number[];
  errorRateClamped: boolean;
  /** The trajectory's tokens share one (length-normalised) ratio instead of one each. */
  sequenceRatio?: boolean;
}

export interface RlAlgorithm {
  readonly name: 'grpo' | 'rex-rag';
  /** The rollout hook of a training step (REX-RAG: a probe at a wrong answer), or undefined. */
  probeHook(step: number): ProbeHook | undefined;
  /** The trajectory filter over the step's probes. */
  selectProbes(rollouts: StepRollouts): ProbeSelection;
  /** The behaviour log-probs of one trained trajectory. */
  behaviourLogps(trajectory: Trajectory, oldLogps: ArrayLike<number>, mixture: MixtureScalars): BehaviourLogps;
  /** Advances the state carried across steps (REX-RAG: the adaptive keep ratio) from the kept probes' rewards. */
  advance(keptProbeRewards: readonly number[]): void;
  /** The state carried across steps, saved in checkpoints and given back on resume. */
  state(): { rho: number };
}
