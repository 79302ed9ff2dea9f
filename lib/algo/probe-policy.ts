// REX-RAG's policy correction (method doc §4.1): per response token, the behaviour probability β_t of the mixture
// of the policy and the probe policy, whose log replaces log π_old in the clipped PPO ratio. The per-token μ of
// spliced prompt tokens comes from lib/explore/prompt-trie.ts; the loss itself is the trainer's.
import { COMPONENT, componentName } from './components.js';
import { describe, expectArray, expectBoolean, expectInteger, expectNumber, expectNumbers, expectObject } from '../validate.js';

export interface ProbePolicyInput {
  /** log π_old(o_t) per response token, recomputed by the actor (finite numbers). */
  oldLogps: ArrayLike<number>;
  /** Component code per response token (components.ts). */
  components: ArrayLike<number>;
  isProbe: boolean;
  /** Probes: L, the response index of the first spliced prompt token. Originals: null. */
  probePromptStart: number | null;
  /**
   * Probes: μ of each spliced prompt token in order (PromptTrie.conditionals: 1 for the first, the trie
   * conditional for the others), each in [0, 1]. Originals: omitted or empty.
   */
  promptConditionals?: ArrayLike<number>;
  /** Mixture weight α = K / (N_orig + K) of the batch, in [0, 1) (batchMixture). */
  alpha: number;
  /** z = 1 − accuracy of the batch's original trajectories, in [0, 1] (batchMixture). */
  errorRate: number;
}

export interface ProbePolicyOptions {
  /**
   * Floor on z for the prefix term π_old/z^{1/L}. The reference divides by z unguarded, so a batch whose originals
   * are all correct gives infinite μ; here z is clamped to max(z, minErrorRate). Default 1e-3. (Such a batch can
   * only hold a probe when rewards and the trigger's EM disagree: a probe's source answered wrong.)
   */
  minErrorRate?: number;
}

export interface ProbePolicyResult {
  /** log β_t, β_t = (1 − α)·π_old(o_t) + α·μ_t on loss tokens; log π_old(o_t) on masked tokens (see below). */
  behaviourLogps: number[];
  /** μ_t, the probe-policy probability (0 on every token of an original). */
  mu: number[];
  /** log μ_t (−Infinity where μ_t = 0), exact where μ_t under- or overflows. */
  logMu: number[];
  /** The importance weight at θ = θ_old, ω_t = π_old(o_t)/β_t = exp(oldLogp − behaviourLogp); 1 on masked tokens. */
  isWeights: number[];
  /** The z used (after the floor). */
  errorRate: number;
  /** True when errorRate was raised to minErrorRate. */
  errorRateClamped: boolean;
}

/**
 * The behaviour log-probs of one trajectory, as the reference's `dp_actor.update_policy` ("Importance Sampling"):
 *
 *   β_t = (1 − α)·π_old(o_t) + α·μ_t, with
 *   μ_t = 0                          every token of an original trajectory,
 *   μ_t = π_old(o_t) / z^{1/L}       probe, t < L (the copied failed prefix, observation tokens included in L),
 *   μ_t = promptConditionals[0]      probe, t = L (1 from the trie: the fixed first prompt token),
 *   μ_t = promptConditionals[k−1]    probe, k-th prompt token, k ≥ 2 (the trie conditional),
 *   μ_t = π_old(o_t)                 probe, tokens after the prompt.
 *
 * Over a probe's prefix, Π_{t<L} μ_t = π_old(prefix)/z: the prefix density conditioned on failure. The ratio of the
 * PPO loss is then ω_t = π_θ(o_t)/β_t, per token, unnormalised (§4.2); at θ = θ_old an original token has
 * ω = 1/(1 − α), a prefix token 1/((1 − α) + α·z^{−1/L}), a continuation token 1 (§4.3).
 *
 * Everything is computed in log space: log β_t = logaddexp(log(1 − α) + log π_old, log α + log μ_t), so α = 0
 * gives log π_old exactly and μ_t = 0 drops its term. Tokens outside the loss mask (retrieved information,
 * invalid-action notices) get log π_old: they are masked out of the loss, so any value would do (the reference
 * computes the mixture there too), and log π_old keeps their weight at exactly 1 for metrics. Their μ is still
 * reported, and inside a probe's prefix they count in L as in the reference.
 */
export function computeBehaviourLogps(input: ProbePolicyInput, options: ProbePolicyOptions = {}): ProbePolicyResult {
  expectObject(input, 'input');
  expectObject(options, 'options');
  const minErrorRate = expectNumber(options.minErrorRate ?? 1e-3, 'options.minErrorRate', { min: Number.MIN_VALUE, max: 1 });
  const oldLogps = expectNumbers(input.oldLogps, 'input.oldLogps');
  const components = expectNumbers(input.components, 'input.components');
  const n = oldLogps.length;
  if (components.length !== n) {
    throw new RangeError(`input.components has ${components.length} entries but input.oldLogps has ${n}`);
  }
  oldLogps.forEach((lp, t) => {
    if (!Number.isFinite(lp)) throw new RangeError(`input.oldLogps[${t}] must be a finite log-prob, got ${lp}`);
  });
  const known = new Set<number>(Object.values(COMPONENT));
  const trained = components.map((code, t) => {
    if (!known.has(code)) throw new RangeError(`input.components[${t}] is not a component code, got ${describe(code)}`);
    const name = componentName(code);
    return name === 'model' || name === 'probe-prompt';
  });
  const isProbe = expectBoolean(input.isProbe, 'input.isProbe');
  const alpha = expectNumber(input.alpha, 'input.alpha', { min: 0 });
  if (!(alpha < 1)) throw new RangeError(`input.alpha must be < 1 (original tokens would have β = 0), got ${alpha}`);
  const z = expectNumber(input.errorRate, 'input.errorRate', { min: 0, max: 1 });
  const errorRate = Math.max(z, minErrorRate);
  const conditionals = expectNumbers(input.promptConditionals ?? [], 'input.promptConditionals');
  conditionals.forEach((mu, k) => expectNumber(mu, `input.promptConditionals[${k}]`, { min: 0, max: 1 }));

  const logMu = new Array<number>(n).fill(-Infinity);
  if (isProbe) {
    const L = checkProbeLayout(input.probePromptStart, components, conditionals.length);
    const m = conditionals.length;
    const prefixShift = L > 0 ? -Math.log(errorRate) / L : 0; // log(1/z^{1/L})
    for (let t = 0; t < n; t++) {
      if (t < L) logMu[t] = oldLogps[t]! + prefixShift;
      else if (t < L + m) logMu[t] = Math.log(conditionals[t - L]!);
      else logMu[t] = oldLogps[t]!;
    }
  } else {
    if (input.probePromptStart !== null && input.probePromptStart !== undefined) {
      throw new RangeError(`input.probePromptStart must be null for an original trajectory, got ${describe(input.probePromptStart)}`);
    }
    if (conditionals.length > 0) throw new RangeError('input.promptConditionals must be empty for an original trajectory');
    const spliced = components.indexOf(COMPONENT['probe-prompt']);
    if (spliced >= 0) throw new RangeError(`input.components[${spliced}] is a probe-prompt token in an original trajectory`);
  }

  const logKeep = Math.log1p(-alpha); // log(1 − α); 0 when α = 0
  const logAlpha = Math.log(alpha); // −Infinity when α = 0
  const behaviourLogps = oldLogps.map((lp, t) => (trained[t] ? logAddExp(logKeep + lp, logAlpha + logMu[t]!) : lp));
  return {
    behaviourLogps,
    mu: logMu.map(Math.exp),
    logMu,
    isWeights: behaviourLogps.map((b, t) => Math.exp(oldLogps[t]! - b)),
    errorRate,
    errorRateClamped: errorRate !== z,
  };
}

export interface BatchMixtureRow {
  isProbe: boolean;
  /** The trajectory's outcome reward. */
  reward: number;
}

export interface BatchMixture {
  /** α = K / (N_orig + K). */
  alpha: number;
  /** z = 1 − originalAccuracy. */
  errorRate: number;
  /** Fraction of original trajectories with reward ≥ correctThreshold. */
  originalAccuracy: number;
  originals: number;
  probes: number;
}

/**
 * The batch scalars of the mixture (reference `ray_trainer.fit`): α = `cloned_traj_ratio` = K/(N_orig + K) with K
 * the probes in `rows`, and z = `error_rate` = 1 − (fraction of ORIGINAL trajectories with reward ≥ 1). Pass the
 * batch after trajectory filtering: only kept probes count. At least one original is required (z is defined by
 * them); without probes α = 0.
 */
export function batchMixture(rows: readonly BatchMixtureRow[], options: { correctThreshold?: number } = {}): BatchMixture {
  expectArray(rows, 'rows');
  expectObject(options, 'options');
  const correctThreshold = expectNumber(options.correctThreshold ?? 1, 'options.correctThreshold');
  let originals = 0;
  let probes = 0;
  let correct = 0;
  rows.forEach((row, i) => {
    expectObject(row, `rows[${i}]`);
    const isProbe = expectBoolean(row.isProbe, `rows[${i}].isProbe`);
    const reward = expectNumber(row.reward, `rows[${i}].reward`);
    if (isProbe) probes++;
    else {
      originals++;
      if (reward >= correctThreshold) correct++;
    }
  });
  if (originals === 0) throw new RangeError('rows must contain at least one original trajectory (z is their error rate)');
  const originalAccuracy = correct / originals;
  return { alpha: probes / (originals + probes), errorRate: 1 - originalAccuracy, originalAccuracy, originals, probes };
}

/** log(e^a + e^b), exact when either is −Infinity. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const high = Math.max(a, b);
  return high + Math.log1p(Math.exp(-Math.abs(a - b)));
}

/** L, after checking that the probe-prompt tokens are exactly [L, L + m). */
function checkProbeLayout(start: number | null, components: number[], m: number): number {
  if (start === null || start === undefined) throw new RangeError('input.probePromptStart is required for a probe');
  const L = expectInteger(start, 'input.probePromptStart', { min: 0, max: Math.max(0, components.length - 1) });
  if (m === 0) throw new RangeError('input.promptConditionals must give μ for every spliced prompt token of a probe');
  if (L + m > components.length) {
    throw new RangeError(`the ${m} spliced prompt tokens from input.probePromptStart ${L} run past the ${components.length} response tokens`);
  }
  const code = COMPONENT['probe-prompt'];
  components.forEach((c, t) => {
    const inPrompt = t >= L && t < L + m;
    if (inPrompt && c !== code) {
      throw new RangeError(`input.components[${t}] should be a probe-prompt token (prompt tokens are [${L}, ${L + m})), got ${c}`);
    }
    if (!inPrompt && c === code) {
      throw new RangeError(`input.components[${t}] is a probe-prompt token outside [${L}, ${L + m}) given by probePromptStart and promptConditionals`);
    }
  });
  return L;
}
