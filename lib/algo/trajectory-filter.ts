// REX-RAG's trajectory filter (method doc §5): score each probe by the policy's mean log-likelihood of its spliced
// prompt, keep the best K, with K set by an adaptive keep ratio. Originals are always kept; reordering the batch
// and recomputing α are the trainer's.
import { COMPONENT } from './components.js';
import { describe, expectArray, expectBoolean, expectInteger, expectNumber, expectNumbers, expectObject } from '../validate.js';

/**
 * A probe's filter score (reference `reorder_batch`): the mean of log π_old(o_t) over its spliced prompt tokens
 * (component probe-prompt), i.e. how plausible the current policy finds the exploration prompt in that context.
 * A trajectory without prompt tokens is an error here (the reference would score it 0).
 */
export function scoreProbe(oldLogps: ArrayLike<number>, components: ArrayLike<number>): number {
  expectNumbers(oldLogps, 'oldLogps');
  expectNumbers(components, 'components');
  if (oldLogps.length !== components.length) {
    throw new RangeError(`oldLogps has ${oldLogps.length} entries but components has ${components.length}`);
  }
  let sum = 0;
  let count = 0;
  for (let t = 0; t < components.length; t++) {
    if (components[t] !== COMPONENT['probe-prompt']) continue;
    const lp = oldLogps[t]!;
    if (typeof lp !== 'number' || Number.isNaN(lp)) throw new TypeError(`oldLogps[${t}] must be a number, got ${describe(lp)}`);
    sum += lp;
    count++;
  }
  if (count === 0) throw new RangeError('the trajectory has no probe-prompt tokens to score; is it a probe?');
  return sum / count;
}

export interface ScoredProbe {
  rowId: number;
  /** scoreProbe of the probe. */
  score: number;
}

/**
 * The top `budget` probes by score, descending; ties go to the smaller rowId (the reference's argsort is not
 * stable; this order is deterministic). All probes are kept when there are at most `budget`. Returns the kept
 * probes in rank order and the dropped ones in rank order.
 */
export function selectProbes<T extends ScoredProbe>(probes: readonly T[], budget: number): { kept: T[]; dropped: T[] } {
  expectArray(probes, 'probes');
  expectInteger(budget, 'budget', { min: 0 });
  probes.forEach((probe, i) => {
    expectObject(probe, `probes[${i}]`);
    expectInteger(probe.rowId, `probes[${i}].rowId`);
    expectNumber(probe.score, `probes[${i}].score`);
  });
  const ranked = [...probes].sort((a, b) => (a.score === b.score ? a.rowId - b.rowId : b.score - a.score));
  return { kept: ranked.slice(0, budget), dropped: ranked.slice(budget) };
}

/**
 * The probe budget K = ⌊B·n·ρ⌋ rounded down to a multiple of `multiple` (reference: `int(train_batch_size ·
 * n_agent · keep_ratio)` minus its remainder mod `n_gpus_per_node`, 8). B = 512, n = 5: ρ = 0.12 gives 304,
 * ρ = 0.08 gives 200. The product is floored as a float, like Python's int().
 */
export function probeBudget(batchSize: number, groupSize: number, rho: number, multiple = 8): number {
  expectInteger(batchSize, 'batchSize', { min: 0 });
  expectInteger(groupSize, 'groupSize', { min: 1 });
  expectNumber(rho, 'rho', { min: 0 });
  if (!Number.isFinite(rho)) throw new RangeError(`rho must be finite, got ${rho}`);
  expectInteger(multiple, 'multiple', { min: 1 });
  const raw = Math.floor(batchSize * groupSize * rho);
  return raw - (raw % multiple);
}

/**
 * acc_probe of a step: the fraction of KEPT probes with reward ≥ correctThreshold (default 1); 0 when none was
 * kept (the reference's `revision_acc`).
 */
export function probeAccuracy(keptRewards: readonly number[], correctThreshold = 1): number {
  expectArray(keptRewards, 'keptRewards');
  expectNumber(correctThreshold, 'correctThreshold');
  if (keptRewards.length === 0) return 0;
  let correct = 0;
  keptRewards.forEach((reward, i) => {
    if (expectNumber(reward, `keptRewards[${i}]`) >= correctThreshold) correct++;
  });
  return correct / keptRewards.length;
}

/**
 * One step of the adaptive keep ratio: ρ_{t+1} = (1 − a)·ρ_t + a·acc_probe_t with a = 0.1 — the last value of
 * pandas `Series([keep_ratio, acc_1, …, acc_t]).ewm(alpha=a, adjust=False).mean()`, started at ρ_1 = keep_ratio.
 * This is the uncapped state; see keepRatioInUse for the DAPO cap.
 */
export function nextKeepRatio(rho: number, accProbe: number, alpha = 0.1): number {
  expectNumber(rho, 'rho', { min: 0 });
  expectNumber(accProbe, 'accProbe', { min: 0, max: 1 });
  expectNumber(alpha, 'alpha', { min: 0, max: 1 });
  return (1 - alpha) * rho + alpha * accProbe;
}

export interface KeepRatioOptions {
  /** EWM smoothing a. Default 0.1. */
  alpha?: number;
  /**
   * Cap the ratio in use at the initial keep ratio, min(ρ_t, keep_ratio), as the reference's RayDAPOTrainer. The
   * cap applies to the value used, not to the EWM state. Default false, as RayPPOTrainer (the trainer main_ppo
   * runs).
   */
  cap?: boolean;
}

/** The ratio a step uses given the EWM state ρ_t: ρ_t, or min(ρ_t, keepRatio) with options.cap. */
export function keepRatioInUse(rho: number, keepRatio: number, options: Pick<KeepRatioOptions, 'cap'> = {}): number {
  expectNumber(rho, 'rho', { min: 0 });
  expectNumber(keepRatio, 'keepRatio', { min: 0 });
  expectObject(options, 'options');
  return expectBoolean(options.cap ?? false, 'options.cap') ? Math.min(rho, keepRatio) : rho;
}

/**
 * The keep ratios in use at steps 1..T+1 given the probe accuracies of steps 1..T: ρ_1 = keepRatio, then
 * nextKeepRatio on the uncapped state, each passed through keepRatioInUse.
 */
export function keepRatioSchedule(keepRatio: number, accProbes: readonly number[], options: KeepRatioOptions = {}): number[] {
  expectNumber(keepRatio, 'keepRatio', { min: 0 });
  expectArray(accProbes, 'accProbes');
  expectObject(options, 'options');
  const alpha = options.alpha ?? 0.1;
  let state = keepRatio;
  const used = [keepRatioInUse(state, keepRatio, options)];
  accProbes.forEach((acc, i) => {
    state = nextKeepRatio(state, expectNumber(acc, `accProbes[${i}]`), alpha);
    used.push(keepRatioInUse(state, keepRatio, options));
  });
  return used;
}
