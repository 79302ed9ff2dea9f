// One GRPO/PPO optimizer step from TypeScript: packs a batch of trajectories (token ids, loss masks,
// behaviour/reference log-probs, advantages) into flat typed arrays and hands it to the native trainer,
// which runs micro-batches, the clipped loss, KL, clipping and AdamW in one call. Checkpoints: checkpoint.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import {
  scoreConfigSchema,
  stepConfigSchema,
  trainerConfigSchema,
  type LossConfig,
  type OptimizerConfig,
  type ScoreConfigInput,
  type StepConfigInput,
  type TrainerConfig,
  type TrainerConfigInput,
} from '../config/train-config.js';
import { parseConfig } from '../config/resolve-config.js';
import { RexragError } from '../errors.js';
import { NativeOwner } from '../model/native-owner.js';
import type { Policy } from '../model/policy.js';
import { readSafetensorsHeader, toNativeWeightFiles } from '../model/safetensors.js';
import { native } from '../native.js';
import { TOKEN_KINDS, type NativeStepMetrics, type NativeTrainer } from '../native-types.js';
import { packTokenRows, splitRows } from '../model/token-rows.js';
import { enqueueTorchJob } from '../torch-queue.js';
import type { ProcessGroup } from '../distributed/process-group.js';
import { expectArray, expectInteger, expectObject, expectString, expectTokenIds } from '../validate.js';

/** The files GrpoTrainer.saveState writes into a checkpoint folder. */
const TRAINER_STATE_FILE = 'trainer.safetensors';
const REFERENCE_FILE = 'reference.safetensors';

export type LossOptions = Partial<LossConfig>;
export type OptimizerOptions = Partial<OptimizerConfig>;
/** Step options; omitted fields come from the trainer's `step` config. */
export type StepOptions = StepConfigInput;
export type StepMetrics = NativeStepMetrics;
/** trainerConfigSchema's input: loss, optimizer, step and reference ('frozen-copy', the default, keeps a copy of
 *  the policy's current weights as the KL reference). */
export type TrainerOptions = TrainerConfigInput;

/** Per-step counters that stay out of metrics.jsonl (the native step still reports them). */
const UNLOGGED_METRICS: ReadonlySet<string> = new Set(['train/updates', 'train/micro_batches', 'train/grad_norm_max']);

/** The step's metrics as the RL loop logs them: every key but the per-step counters, in the native order. */
export function loggedTrainMetrics(metrics: StepMetrics): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([name]) => !UNLOGGED_METRICS.has(name)));
}

/** One row per trajectory; per-token arrays are aligned with `ids` (index t describes token t). */
export interface TrajectoryBatch {
  ids: ArrayLike<number>[];
  /** 1 where token t is trained (model and probe-prompt tokens); 0 for prompt, observations and padding. */
  lossMask: ArrayLike<number>[];
  /**
   * The log-prob the PPO ratio is taken against: π_old for GRPO, log β_t for REX-RAG. Omitted: the policy's
   * current log-probs on each update (ratio 1; with one update per step this is exact on-policy GRPO, and with
   * advantage 1 it is supervised fine-tuning) without a separate scoring pass.
   */
  behaviourLogps?: ArrayLike<number>[];
  /** Reference log-probs; omitted: computed by the trainer's frozen reference copy. */
  refLogps?: ArrayLike<number>[];
  /** Per row (broadcast over its tokens) or per token. */
  advantages: (number | ArrayLike<number>)[];
  /**
   * Optional, per token (e.g. an Int8Array or Uint8Array per row): 0 original, 1 probe prefix, 2 probe prompt,
   * 3 probe continuation (TOKEN_KINDS). With it the step also reports `train/<kind>/...` diagnostics over the
   * loss tokens of each kind; tokens outside the loss mask are ignored.
   */
  tokenKinds?: ArrayLike<number>[];
  /**
   * Optional, per row: true when the row's tokens share one ratio, exp(mean over its loss tokens of
   * (log π_θ − behaviour)), clipped as a token ratio (REX-RAG's `correction: 'sequence'` for probes).
   */
  sequenceRatio?: boolean[];
  /**
   * Data parallel (a trainer with a process group): the global row of each row, ascending, in the global batch of
   * `globalRows` rows every rank holds a share of. Mini-batches, the shuffle and the loss normalisers are the
   * global batch's.
   */
  globalIndex?: number[];
  globalRows?: number;
}

/** Largest log-prob accepted: 0 plus rounding slack (a mixture of probabilities computed in floating point). */
const MAX_LOGP = 1e-6;

/** What each per-token array may hold; a value outside it would silently skew the loss. */
type TokenValueRule = 'mask' | 'logp' | 'finite' | 'number';

function tokenValueProblem(value: unknown, rule: TokenValueRule): string | undefined {
  if (typeof value !== 'number' || Number.isNaN(value)) return 'must be a number';
  if (rule === 'number') return undefined;
  if (rule === 'mask') return value === 0 || value === 1 ? undefined : 'must be 0 or 1';
  if (!Number.isFinite(value)) return 'must be finite';
  return rule === 'logp' && value > MAX_LOGP ? 'must be a log-probability (<= 0)' : undefined;
}

/** Flattens a batch into the native layout, checking every row's lengths against its ids. */
export function packBatch(batch: TrajectoryBatch, vocabSize: number) {
  expectObject(batch, 'batch');
  const rows = expectArray(batch.ids, 'batch.ids').length;
  for (const key of ['lossMask', 'advantages'] as const) {
    if (expectArray(batch[key], `batch.${key}`).length !== rows) {
      throw new RangeError(`batch.${key} has ${batch[key].length} rows but batch.ids has ${rows}`);
    }
  }
  if (batch.behaviourLogps !== undefined && expectArray(batch.behaviourLogps, 'batch.behaviourLogps').length !== rows) {
    throw new RangeError(`batch.behaviourLogps has ${batch.behaviourLogps.length} rows but batch.ids has ${rows}`);
  }
  if (batch.refLogps && batch.refLogps.length !== rows) {
    throw new RangeError(`batch.refLogps has ${batch.refLogps.length} rows but batch.ids has ${rows}`);
  }
  if (batch.tokenKinds !== undefined && expectArray(batch.tokenKinds, 'batch.tokenKinds').length !== rows) {
    throw new RangeError(`batch.tokenKinds has ${batch.tokenKinds.length} rows but batch.ids has ${rows}`);
  }
  if (batch.sequenceRatio !== undefined && expectArray(batch.sequenceRatio, 'batch.sequenceRatio').length !== rows) {
    throw new RangeError(`batch.sequenceRatio has ${batch.sequenceRatio.length} rows but batch.ids has ${rows}`);
  }
  if ((batch.globalIndex === undefined) !== (batch.globalRows === undefined)) {
    throw new TypeError('batch.globalIndex and batch.globalRows go together');
  }
  let globalIndex: Int32Array | undefined;
  if (batch.globalIndex !== undefined) {
    const globalRows = expectInteger(batch.globalRows, 'batch.globalRows', { min: rows });
    if (expectArray(batch.globalIndex, 'batch.globalIndex').length !== rows) {
      throw new RangeError(`batch.globalIndex has ${batch.globalIndex.length} rows but batch.ids has ${rows}`);
    }
    globalIndex = Int32Array.from(batch.globalIndex, (g, r) => {
      expectInteger(g, `batch.globalIndex[${r}]`, { min: r === 0 ? 0 : batch.globalIndex![r - 1]! + 1, max: globalRows - 1 });
      return g;
    });
  }
  const sequenceRatio = batch.sequenceRatio?.map((flag, r) => {
    if (typeof flag !== 'boolean') throw new TypeError(`batch.sequenceRatio[${r}] must be a boolean`);
    return flag ? 1 : 0;
  });
  const lengths = new Int32Array(rows);
  batch.ids.forEach((row, r) => {
    lengths[r] = expectTokenIds(Array.from(row), `batch.ids[${r}]`, vocabSize).length;
    if (lengths[r] === 0) throw new RangeError(`batch.ids[${r}] must not be empty`);
  });
  const total = lengths.reduce((a, b) => a + b, 0);
  const ids = new Int32Array(total);
  const lossMask = new Float32Array(total);
  const behaviourLogps = batch.behaviourLogps ? new Float32Array(total) : undefined;
  const advantages = new Float32Array(total);
  const refLogps = batch.refLogps ? new Float32Array(total) : undefined;
  const tokenKinds = batch.tokenKinds ? new Uint8Array(total) : undefined;
  let offset = 0;
  for (let r = 0; r < rows; r++) {
    const length = lengths[r]!;
    const copyRow = (target: Float32Array, values: ArrayLike<number>, name: string, rule: TokenValueRule) => {
      if (values.length !== length) {
        throw new RangeError(`batch.${name}[${r}] has ${values.length} values but the row has ${length} tokens`);
      }
      for (let t = 0; t < length; t++) {
        const value = values[t]!;
        // Log-probs of untrained tokens are placeholders (the first token has none): any number will do there.
        const problem = tokenValueProblem(value, rule === 'logp' && lossMask[offset + t] === 0 ? 'number' : rule);
        if (problem) {
          const error = typeof value === 'number' && !Number.isNaN(value) ? RangeError : TypeError;
          throw new error(`batch.${name}[${r}][${t}] ${problem}, got ${String(value)}`);
        }
        target[offset + t] = value;
      }
    };
    ids.set(Array.from(batch.ids[r]!), offset);
    copyRow(lossMask, batch.lossMask[r]!, 'lossMask', 'mask');
    if (lossMask[offset] !== 0) throw new RangeError(`batch.lossMask[${r}][0] must be 0: the first token has no prefix`);
    if (behaviourLogps) copyRow(behaviourLogps, batch.behaviourLogps![r]!, 'behaviourLogps', 'logp');
    if (refLogps) copyRow(refLogps, batch.refLogps![r]!, 'refLogps', 'logp');
    if (tokenKinds) {
      const kinds = batch.tokenKinds![r]!;
      if (kinds.length !== length) throw new RangeError(`batch.tokenKinds[${r}] has ${kinds.length} values but the row has ${length} tokens`);
      for (let t = 0; t < length; t++) {
        const kind = kinds[t]!;
        if (!Number.isInteger(kind) || kind < 0 || kind >= TOKEN_KINDS.length) {
          throw new RangeError(`batch.tokenKinds[${r}][${t}] must be an integer in [0, ${TOKEN_KINDS.length}), got ${kind}`);
        }
        tokenKinds[offset + t] = kind;
      }
    }
    const advantage = batch.advantages[r]!;
    if (typeof advantage === 'number') {
      if (!Number.isFinite(advantage)) throw new RangeError(`batch.advantages[${r}] must be finite`);
      advantages.fill(advantage, offset, offset + length);
    } else {
      copyRow(advantages, advantage, 'advantages', 'finite');
    }
    offset += length;
  }
  return {
    ids, lengths, lossMask, advantages,
    ...(behaviourLogps ? { behaviourLogps } : {}), ...(refLogps ? { refLogps } : {}), ...(tokenKinds ? { tokenKinds } : {}),
    ...(sequenceRatio ? { sequenceRatio: Uint8Array.from(sequenceRatio) } : {}),
    ...(globalIndex ? { globalIndex, globalRows: batch.globalRows! } : {}),
  };
}

/** Trains a Policy in place with the GRPO objective. */
export class GrpoTrainer extends NativeOwner<NativeTrainer> {
  private constructor(
    handle: NativeTrainer,
    readonly policy: Policy,
    /** The resolved configuration (trainerConfigSchema, defaults filled in). */
    readonly options: TrainerConfig,
  ) {
    super(handle, 'trainer');
  }

  /**
   * A trainer for `policy`. `config` is parsed once here with trainerConfigSchema (unknown keys and out-of-range
   * values are an ERR_INVALID_ARG listing every problem); with the default reference, the current weights are
   * copied as the KL reference.
   */
  static async create(policy: Policy, config: TrainerOptions = {}): Promise<GrpoTrainer> {
    const options = parseConfig(trainerConfigSchema, config, 'trainer options');
    const handle = await enqueueTorchJob(async () =>
      new (native().Trainer)(policy.nativeHandle(), {
        loss: options.loss,
        optimizer: options.optimizer,
        keepReference: options.reference === 'frozen-copy',
      }),
    );
    return new GrpoTrainer(handle, policy, options);
  }

  /** One training step: every epoch × mini-batch is an optimizer update; the LR schedule advances once. */
  async step(batch: TrajectoryBatch, options: StepOptions = {}): Promise<StepMetrics> {
    this.checkLive();
    const step = parseConfig(stepConfigSchema, { ...this.options.step, ...options }, 'step options');
    const packed = packBatch(batch, this.policy.config.vocab_size);
    return enqueueTorchJob(() => this.handle.step(packed, step));
  }

  /**
   * Trains data-parallel over `group` from now on: rank 0's weights (and reference) are broadcast to every rank,
   * and each step all-reduces the gradients so every rank applies the same update. Every rank calls it.
   */
  async setProcessGroup(group: ProcessGroup): Promise<void> {
    this.checkLive();
    await enqueueTorchJob(() => this.handle.setProcessGroup(group.nativeHandle()));
  }

  /** Reference-model log-probs of each sequence (teacher-forced); index t is log p_ref(x_t | x_<t). */
  async referenceLogps(sequences: ArrayLike<number>[], options: ScoreConfigInput = {}): Promise<Float32Array[]> {
    this.checkLive();
    const score = parseConfig(scoreConfigSchema, options, 'score options');
    const { ids, lengths } = packTokenRows(sequences, this.policy.config.vocab_size, 'sequences');
    const { logps } = await enqueueTorchJob(() => this.handle.referenceScore({ ids, lengths, ...score }));
    return splitRows(logps, lengths);
  }

  /** The learning rate the schedule gives at a training step. */
  lrAt(step: number): number {
    this.checkLive();
    return this.handle.lrAt(step);
  }

  /** Training steps done (restored by resume). */
  stepsDone(): number {
    this.checkLive();
    return this.handle.stepsDone();
  }

  /**
   * Writes the optimizer state (AdamW moments and the update/step counters) to `dir/trainer.safetensors` and,
   * when the trainer keeps a reference, the reference weights to `dir/reference.safetensors`. Returns the files.
   */
  async saveState(dir: string): Promise<string[]> {
    this.checkLive();
    expectString(dir, 'dir', { nonEmpty: true });
    const files = [TRAINER_STATE_FILE];
    await enqueueTorchJob(() => this.handle.saveState(join(dir, TRAINER_STATE_FILE)));
    if (this.options.reference === 'frozen-copy') {
      await enqueueTorchJob(() => this.handle.saveReference(join(dir, REFERENCE_FILE)));
      files.push(REFERENCE_FILE);
    }
    return files;
  }

  /** Restores what saveState wrote into `dir`; every tensor must match this policy's parameters. */
  async loadState(dir: string): Promise<void> {
    this.checkLive();
    expectString(dir, 'dir', { nonEmpty: true });
    const trainerFiles = toNativeWeightFiles([await readSafetensorsHeader(join(dir, TRAINER_STATE_FILE))]);
    await enqueueTorchJob(() => this.handle.loadState(trainerFiles));
    if (this.options.reference === 'frozen-copy') {
      const path = join(dir, REFERENCE_FILE);
      if (!existsSync(path)) {
        throw new RexragError(`${dir} has no ${REFERENCE_FILE} but the trainer keeps a reference`, 'ERR_INVALID_ARG');
      }
      const referenceFiles = toNativeWeightFiles([await readSafetensorsHeader(path)]);
      await enqueueTorchJob(() => this.handle.loadReference(referenceFiles));
    }
  }
}
