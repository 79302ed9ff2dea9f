// A slow, plain reference of the GRPO/PPO policy loss (verl core_algos semantics), its analytic gradient w.r.t.
// each token's log-prob, and one torch.optim.AdamW step, all in float64 on plain arrays. Parity tests hold the
// native C++ loss, backward and optimizer against it; nothing on a hot path calls it.
import { describe, expectArray, expectNumber, expectObject } from '../../lib/validate.js';

export type KlType = 'none' | 'k1' | 'k2' | 'k3';
export type LossAggregation = 'token-mean' | 'seq-mean-token-sum' | 'seq-mean-token-mean';

/**
 * Per-token inputs as one array per row (rows may have different lengths; every input has the same length as
 * `logps` in each row). Values at positions with lossMask 0 are ignored (they must still be finite numbers).
 */
export interface ReferenceLossInputs {
  /** log π_θ(o_t), the current policy. */
  logps: readonly ArrayLike<number>[];
  /** The log-prob the ratio is taken against: log π_old for GRPO, log β_t (the REX mixture) for REX-RAG. */
  behaviourLogps: readonly ArrayLike<number>[];
  /** log π_ref(o_t); required unless klType is 'none'. */
  refLogps?: readonly ArrayLike<number>[];
  /** Per token (one array per row) or per row (one number per row, broadcast over the row). */
  advantages: readonly ArrayLike<number>[] | ArrayLike<number>;
  /** 1 where the token is trained on, 0 elsewhere. */
  lossMask: readonly ArrayLike<number>[];
  /** Entropy of each predicting distribution; required when entropyCoef is not 0. */
  entropies?: readonly ArrayLike<number>[];
}

export interface ReferenceLossOptions {
  /** Ratio lower clip: r ≥ 1 − clipLow. Default 0.2. */
  clipLow?: number;
  /** Ratio upper clip: r ≤ 1 + clipHigh. Default 0.2. */
  clipHigh?: number;
  /** Dual-clip constant c (> 1) bounding the loss of A < 0 tokens by −A·c; null/undefined disables it. */
  dualClip?: number | null;
  /** Default 'k3' (verl's low_var_kl). */
  klType?: KlType;
  /** Default 0.001. */
  klCoef?: number;
  /** Default 0. */
  entropyCoef?: number;
  /** Default 'token-mean'. */
  aggregation?: LossAggregation;
}

export interface ReferenceLossMetrics {
  /** Loss tokens (lossMask 1) and rows with at least one of them. */
  tokens: number;
  rows: number;
  /** Fraction of loss tokens where the clipped branch is the active one, with r above 1 + clipHigh / below 1 − clipLow. */
  clipFracHigh: number;
  clipFracLow: number;
  /** Fraction of loss tokens where the dual-clip bound −A·c is the active one. */
  clipFracDual: number;
  /** verl's ppo_kl: mean over loss tokens of −(logp − behaviourLogp). */
  approxKl: number;
  /** Mean over loss tokens of the per-token KL value to the reference (0 when klType is 'none'). */
  klMean: number;
  ratioMean: number;
  /** 0 when there are no loss tokens. */
  ratioMax: number;
  /** Mean entropy over loss tokens (0 without entropies). */
  entropyMean: number;
}

export interface ReferenceLossResult {
  /** pgLoss + klCoef·klLoss − entropyCoef·entropyLoss. 0 when there are no loss tokens. */
  loss: number;
  /** Each term aggregated with the chosen aggregation, like verl's agg_loss. */
  pgLoss: number;
  klLoss: number;
  entropyLoss: number;
  /** ∂loss/∂logps per token (0 at masked positions). */
  gradLogps: number[][];
  /** ∂loss/∂entropies per token (0 at masked positions, and everywhere when entropyCoef is 0). */
  gradEntropies: number[][];
  metrics: ReferenceLossMetrics;
}

const KL_TYPES: readonly KlType[] = ['none', 'k1', 'k2', 'k3'];
const AGGREGATIONS: readonly LossAggregation[] = ['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean'];

/**
 * The per-token KL estimate to the reference and its derivative w.r.t. logp, as verl's `core_algos.kl_penalty`:
 *   k1 = logp − ref;   k2 = ½(logp − ref)²;
 *   k3 (low_var_kl) = clamp(e^d − d − 1, −10, 10) with d = clamp(ref − logp, −20, 20).
 * A clamp that is active (strictly outside its bounds) passes no gradient, like torch.clamp.
 */
export function klPenalty(logp: number, ref: number, klType: KlType): { kl: number; grad: number } {
  switch (klType) {
    case 'none':
      return { kl: 0, grad: 0 };
    case 'k1':
      return { kl: logp - ref, grad: 1 };
    case 'k2':
      return { kl: 0.5 * (logp - ref) ** 2, grad: logp - ref };
    case 'k3': {
      const raw = ref - logp;
      const d = Math.min(20, Math.max(-20, raw));
      const value = Math.exp(d) - d - 1;
      const kl = Math.min(10, Math.max(-10, value));
      const passes = raw >= -20 && raw <= 20 && value >= -10 && value <= 10;
      // ∂(e^d − d − 1)/∂logp = (e^d − 1)·∂d/∂logp = −(e^d − 1)
      return { kl, grad: passes ? 1 - Math.exp(d) : 0 };
    }
  }
}

/**
 * One PPO clipped-surrogate term, as verl's `core_algos.compute_policy_loss`:
 *   r = exp(logp − behaviourLogp);  ℓ = max(−A·r, −A·clip(r, 1 − clipLow, 1 + clipHigh))
 * and, with dual clip c and A < 0, ℓ = min(ℓ, −A·c). Returns ℓ, ∂ℓ/∂logp (= −A·r on the unclipped branch, 0 on a
 * clipped one; at an exact tie the unclipped branch's gradient, which is what torch's maximum + clamp give) and
 * which branch is active.
 */
export function ppoTerm(
  logp: number,
  behaviourLogp: number,
  advantage: number,
  clipLow: number,
  clipHigh: number,
  dualClip: number | null,
): { loss: number; grad: number; ratio: number; clipped: 'none' | 'high' | 'low' | 'dual' } {
  const ratio = Math.exp(logp - behaviourLogp);
  const unclipped = -advantage * ratio;
  const clippedValue = -advantage * Math.min(1 + clipHigh, Math.max(1 - clipLow, ratio));
  let loss = Math.max(unclipped, clippedValue);
  let grad = -advantage * ratio;
  let clipped: 'none' | 'high' | 'low' | 'dual' = 'none';
  if (clippedValue > unclipped) {
    grad = 0;
    if (ratio > 1 + clipHigh) clipped = 'high';
    else if (ratio < 1 - clipLow) clipped = 'low';
  }
  if (dualClip !== null && advantage < 0 && -advantage * dualClip < loss) {
    loss = -advantage * dualClip;
    grad = 0;
    clipped = 'dual';
  }
  return { loss, grad, ratio, clipped };
}

/**
 * The policy loss over a batch of rows and its gradient, float64, as verl's actor update (dp_actor.update_policy):
 *   loss = agg(ℓ_pg) + klCoef·agg(kl) − entropyCoef·agg(entropy)
 * where agg is verl's `agg_loss` over the loss mask:
 *   token-mean:           Σ_t m_t x_t / Σ_t m_t                     (weight 1/T per loss token)
 *   seq-mean-token-sum:   mean over rows of Σ_t m_t x_t              (weight 1/R)
 *   seq-mean-token-mean:  mean over rows of Σ_t m_t x_t / Σ_t m_t    (weight 1/(R·n_row))
 * Deviations from verl, matching the native loss: R counts only rows with at least one loss token (verl's
 * seq-mean-token-mean gives NaN for a fully masked row, its seq-mean-token-sum counts it as 0), token-mean has no
 * +1e-8 in its denominator, and no loss tokens at all give loss 0 instead of NaN.
 */
export function referencePolicyLoss(inputs: ReferenceLossInputs, options: ReferenceLossOptions = {}): ReferenceLossResult {
  const config = checkOptions(options);
  const rows = checkInputs(inputs, config);
  const { logps, behaviourLogps, lossMask } = inputs;

  // Aggregation weights per row.
  const counts = lossMask.map((row) => Array.from(row).reduce((sum, m) => sum + m, 0));
  const tokens = counts.reduce((sum, c) => sum + c, 0);
  const liveRows = counts.filter((c) => c > 0).length;
  const weightOf = (row: number): number => {
    if (config.aggregation === 'token-mean') return 1 / tokens;
    if (config.aggregation === 'seq-mean-token-sum') return 1 / liveRows;
    return 1 / (liveRows * counts[row]!);
  };

  let pgLoss = 0;
  let klLoss = 0;
  let entropyLoss = 0;
  let clippedHigh = 0;
  let clippedLow = 0;
  let clippedDual = 0;
  let approxKlSum = 0;
  let klSum = 0;
  let ratioSum = 0;
  let ratioMax = 0;
  let entropySum = 0;
  const gradLogps: number[][] = [];
  const gradEntropies: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const length = logps[i]!.length;
    const gradRow = new Array<number>(length).fill(0);
    const gradEntropyRow = new Array<number>(length).fill(0);
    gradLogps.push(gradRow);
    gradEntropies.push(gradEntropyRow);
    if (counts[i] === 0) continue;
    const weight = weightOf(i);
    for (let t = 0; t < length; t++) {
      if (lossMask[i]![t] === 0) continue;
      const logp = logps[i]![t]!;
      const behaviour = behaviourLogps[i]![t]!;
      const advantage = advantageAt(inputs.advantages, i, t);
      const pg = ppoTerm(logp, behaviour, advantage, config.clipLow, config.clipHigh, config.dualClip);
      const kl = klPenalty(logp, inputs.refLogps?.[i]![t] ?? 0, config.klType);
      const entropy = inputs.entropies?.[i]![t] ?? 0;
      pgLoss += weight * pg.loss;
      klLoss += weight * kl.kl;
      entropyLoss += weight * entropy;
      gradRow[t] = weight * (pg.grad + config.klCoef * kl.grad);
      gradEntropyRow[t] = config.entropyCoef === 0 ? 0 : -weight * config.entropyCoef;
      if (pg.clipped === 'high') clippedHigh++;
      if (pg.clipped === 'low') clippedLow++;
      if (pg.clipped === 'dual') clippedDual++;
      approxKlSum += -(logp - behaviour);
      klSum += kl.kl;
      ratioSum += pg.ratio;
      ratioMax = Math.max(ratioMax, pg.ratio);
      entropySum += entropy;
    }
  }
  const mean = (sum: number) => (tokens === 0 ? 0 : sum / tokens);
  return {
    loss: pgLoss + config.klCoef * klLoss - config.entropyCoef * entropyLoss,
    pgLoss,
    klLoss,
    entropyLoss,
    gradLogps,
    gradEntropies,
    metrics: {
      tokens,
      rows: liveRows,
      clipFracHigh: mean(clippedHigh),
      clipFracLow: mean(clippedLow),
      clipFracDual: mean(clippedDual),
      approxKl: mean(approxKlSum),
      klMean: mean(klSum),
      ratioMean: mean(ratioSum),
      ratioMax,
      entropyMean: mean(entropySum),
    },
  };
}

export interface AdamWOptions {
  lr: number;
  /** Defaults as torch.optim.AdamW: 0.9, 0.999, 1e-8, 0.01. */
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** Optimizer state, one first/second moment array per parameter tensor. */
export interface AdamWState {
  step: number;
  expAvg: number[][];
  expAvgSq: number[][];
}

/**
 * One torch.optim.AdamW step (amsgrad off, maximize off) on parameter tensors given as flat arrays:
 *   p ← p·(1 − lr·wd)                       (decoupled weight decay, applied first)
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
 * `state` null starts from zero moments at step 0. Returns new arrays; the inputs are not changed.
 */
export function referenceAdamWStep(
  params: readonly ArrayLike<number>[],
  grads: readonly ArrayLike<number>[],
  state: AdamWState | null,
  options: AdamWOptions,
): { params: number[][]; state: AdamWState } {
  expectArray(params, 'params');
  expectArray(grads, 'grads');
  if (grads.length !== params.length) {
    throw new RangeError(`grads must have one array per parameter (${params.length}), got ${grads.length}`);
  }
  expectObject(options, 'options');
  const lr = expectNumber(options.lr, 'options.lr', { min: 0 });
  const beta1 = expectNumber(options.beta1 ?? 0.9, 'options.beta1', { min: 0, max: 1 });
  const beta2 = expectNumber(options.beta2 ?? 0.999, 'options.beta2', { min: 0, max: 1 });
  const eps = expectNumber(options.eps ?? 1e-8, 'options.eps', { min: 0 });
  const weightDecay = expectNumber(options.weightDecay ?? 0.01, 'options.weightDecay', { min: 0 });
  params.forEach((p, k) => {
    checkFiniteRow(p, `params[${k}]`);
    checkFiniteRow(grads[k], `grads[${k}]`);
    if (grads[k]!.length !== p.length) {
      throw new RangeError(`grads[${k}] must have ${p.length} values like params[${k}], got ${grads[k]!.length}`);
    }
  });
  if (state !== null) {
    expectObject(state, 'state');
    if (state.expAvg.length !== params.length || state.expAvgSq.length !== params.length) {
      throw new RangeError(`state must hold moments for ${params.length} parameters`);
    }
  }

  const step = (state?.step ?? 0) + 1;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  const stepSize = lr / biasCorrection1;
  const next: AdamWState = { step, expAvg: [], expAvgSq: [] };
  const updated = params.map((p, k) => {
    const g = grads[k]!;
    const m = Array.from(state?.expAvg[k] ?? new Array<number>(p.length).fill(0));
    const v = Array.from(state?.expAvgSq[k] ?? new Array<number>(p.length).fill(0));
    if (m.length !== p.length || v.length !== p.length) {
      throw new RangeError(`state moments of parameter ${k} must have ${p.length} values`);
    }
    const out = new Array<number>(p.length);
    for (let j = 0; j < p.length; j++) {
      const decayed = p[j]! * (1 - lr * weightDecay);
      m[j] = beta1 * m[j]! + (1 - beta1) * g[j]!;
      v[j] = beta2 * v[j]! + (1 - beta2) * g[j]! * g[j]!;
      const denom = Math.sqrt(v[j]!) / biasCorrection2Sqrt + eps;
      out[j] = decayed - (stepSize * m[j]!) / denom;
    }
    next.expAvg.push(m);
    next.expAvgSq.push(v);
    return out;
  });
  return { params: updated, state: next };
}

interface CheckedOptions {
  clipLow: number;
  clipHigh: number;
  dualClip: number | null;
  klType: KlType;
  klCoef: number;
  entropyCoef: number;
  aggregation: LossAggregation;
}

function checkOptions(options: ReferenceLossOptions): CheckedOptions {
  expectObject(options, 'options');
  const klType = options.klType ?? 'k3';
  if (!KL_TYPES.includes(klType)) {
    throw new RangeError(`options.klType must be one of ${KL_TYPES.join(', ')}, got ${describe(klType)}`);
  }
  const aggregation = options.aggregation ?? 'token-mean';
  if (!AGGREGATIONS.includes(aggregation)) {
    throw new RangeError(`options.aggregation must be one of ${AGGREGATIONS.join(', ')}, got ${describe(aggregation)}`);
  }
  const dualClip = options.dualClip ?? null;
  if (dualClip !== null) {
    expectNumber(dualClip, 'options.dualClip');
    if (!(dualClip > 1)) throw new RangeError(`options.dualClip must be greater than 1, got ${dualClip}`);
  }
  return {
    clipLow: expectNumber(options.clipLow ?? 0.2, 'options.clipLow', { min: 0, max: 1 }),
    clipHigh: expectNumber(options.clipHigh ?? 0.2, 'options.clipHigh', { min: 0 }),
    dualClip,
    klType,
    klCoef: expectNumber(options.klCoef ?? 0.001, 'options.klCoef', { min: 0 }),
    entropyCoef: expectNumber(options.entropyCoef ?? 0, 'options.entropyCoef'),
    aggregation,
  };
}

/** Checks shapes and values; returns the number of rows. */
function checkInputs(inputs: ReferenceLossInputs, config: CheckedOptions): number {
  expectObject(inputs, 'inputs');
  const rows = expectArray(inputs.logps, 'inputs.logps').length;
  const lengths = inputs.logps.map((row, i) => checkFiniteRow(row, `inputs.logps[${i}]`));
  const checkRows = (value: readonly ArrayLike<number>[] | undefined, name: string) => {
    expectArray(value, name);
    if (value!.length !== rows) throw new RangeError(`${name} must have ${rows} rows like inputs.logps, got ${value!.length}`);
    value!.forEach((row, i) => {
      const length = checkFiniteRow(row, `${name}[${i}]`);
      if (length !== lengths[i]) {
        throw new RangeError(`${name}[${i}] must have ${lengths[i]} values like inputs.logps[${i}], got ${length}`);
      }
    });
  };
  checkRows(inputs.behaviourLogps, 'inputs.behaviourLogps');
  checkRows(inputs.lossMask, 'inputs.lossMask');
  inputs.lossMask.forEach((row, i) => {
    for (let t = 0; t < row.length; t++) {
      if (row[t] !== 0 && row[t] !== 1) throw new RangeError(`inputs.lossMask[${i}][${t}] must be 0 or 1, got ${row[t]}`);
    }
  });
  if (config.klType !== 'none') checkRows(inputs.refLogps, 'inputs.refLogps');
  else if (inputs.refLogps !== undefined) checkRows(inputs.refLogps, 'inputs.refLogps');
  if (config.entropyCoef !== 0 || inputs.entropies !== undefined) checkRows(inputs.entropies, 'inputs.entropies');
  const advantages = inputs.advantages;
  if (advantages === null || typeof advantages !== 'object' || typeof advantages.length !== 'number') {
    throw new TypeError(`inputs.advantages must be an array, got ${describe(advantages)}`);
  }
  if (advantages.length !== rows) {
    throw new RangeError(`inputs.advantages must have ${rows} rows like inputs.logps, got ${advantages.length}`);
  }
  if (rows > 0 && typeof advantages[0] === 'number') {
    checkFiniteRow(advantages as ArrayLike<number>, 'inputs.advantages');
  } else {
    checkRows(advantages as readonly ArrayLike<number>[], 'inputs.advantages');
  }
  return rows;
}

function advantageAt(advantages: ReferenceLossInputs['advantages'], row: number, t: number): number {
  const entry = (advantages as ArrayLike<unknown>)[row];
  return typeof entry === 'number' ? entry : (entry as ArrayLike<number>)[t]!;
}

/** Checks that `row` is an array-like of finite numbers; returns its length. */
function checkFiniteRow(row: unknown, name: string): number {
  if (row === null || typeof row !== 'object' || typeof (row as ArrayLike<unknown>).length !== 'number') {
    throw new TypeError(`${name} must be an array of numbers, got ${describe(row)}`);
  }
  const values = row as ArrayLike<unknown>;
  for (let t = 0; t < values.length; t++) {
    const value = values[t];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(`${name}[${t}] must be a finite number, got ${describe(value)}`);
    }
  }
  return values.length;
}
