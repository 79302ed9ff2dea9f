// The policy model from TypeScript: a Qwen2 network held by the native addon. Validates arguments, queues
// every heavy call on the torch queue, and adapts the native generation session to the GenerationSession
// contract used by rollouts. Loading from a Hugging Face folder is in load-policy.ts.
import { parseConfig } from '../config/resolve-config.js';
import { scoreConfigSchema, type ScoreConfigInput } from '../config/train-config.js';
import { native } from '../native.js';
import { NativeOwner } from './native-owner.js';
import type {
  NativeGenerationSession,
  NativeQwen2Config,
  NativeQwen2Policy,
  NativeWeightFile,
} from '../native-types.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { enqueueTorchJob } from '../torch-queue.js';
import { expectArray, expectInteger, expectNumber, expectObject, expectString, expectTokenIds } from '../validate.js';
import type { GeneratedRow, GenerationSession, SamplingOptions } from './generation-types.js';
import { checkBatchTokens, checkSequenceTokens, resolveTokenLimits, type TokenLimits } from './token-limits.js';
import { packTokenRows, packValueRows, splitRows } from './token-rows.js';
import { checkParameterBudget } from './weights-budget.js';

export interface PolicyOptions {
  /** Compute dtype; weights stored as bfloat16 are converted. Default float32. */
  dtype?: 'float32' | 'bfloat16';
  /** torch device string: 'cpu', 'cuda', 'cuda:1'. Default 'cpu'. */
  device?: string;
  /**
   * Dtype generation runs in. When it differs from `dtype`, sessions use a copy of the weights in this dtype,
   * refreshed automatically after the weights change (e.g. bfloat16 rollouts, ~2x faster decoding on CPUs with
   * AVX512-BF16, while training stays float32 — the rollout log-probs then differ from float32 teacher forcing
   * by bf16 rounding; π_old is recomputed by scoring, as in the reference trainers). Default: `dtype`.
   */
  generationDtype?: 'float32' | 'bfloat16';
  /** Token budgets checked before any native work (see token-limits.ts); defaults from the model's config. */
  limits?: Partial<TokenLimits>;
}

/** scoreConfigSchema's fields (chunkSize, microBatchTokens, withEntropy; defaults there), plus a loss mask. */
export interface ScoreOptions extends ScoreConfigInput {
  /** Per row, aligned with its tokens: only tokens with 1 are scored (the others report 0). Skips the LM head for
   *  prompt and observation tokens, e.g. when computing π_old over responses only. */
  lossMask?: ArrayLike<number>[];
}

export interface ScoreResult {
  /** Per row: logps[t] = log p(x_t | x_<t); logps[0] = 0. */
  logps: Float32Array[];
  entropies?: Float32Array[];
}

function checkDevice(options: PolicyOptions): { dtype: 'float32' | 'bfloat16'; generationDtype: 'float32' | 'bfloat16'; device: string } {
  const dtype = options.dtype ?? 'float32';
  const generationDtype = options.generationDtype ?? dtype;
  for (const [name, value] of [['dtype', dtype], ['generationDtype', generationDtype]] as const) {
    if (value !== 'float32' && value !== 'bfloat16') {
      throw new RangeError(`options.${name} must be "float32" or "bfloat16", got ${JSON.stringify(value)}`);
    }
  }
  return { dtype, generationDtype, device: expectString(options.device ?? 'cpu', 'options.device', { nonEmpty: true }) };
}

/** Bytes each parameter takes: its compute dtype, plus a generation copy when that dtype differs. */
function bytesPerParameter(dtype: string, generationDtype: string): number {
  const size = (name: string) => (name === 'bfloat16' ? 2 : 4);
  return size(dtype) + (generationDtype === dtype ? 0 : size(generationDtype));
}

/** A Qwen2 policy network in native memory. Call dispose() when done (or let it be collected). */
export class Policy extends NativeOwner<NativeQwen2Policy> {
  /** The folder the weights were loaded from, when they were (tokenizer files are copied from it on save). */
  sourceDir: string | undefined;

  /** The budgets every score and generate call is checked against. */
  readonly limits: TokenLimits;

  private constructor(
    handle: NativeQwen2Policy,
    readonly config: NativeQwen2Config,
    readonly tokenizer: TextTokenizer | undefined,
    limits: Partial<TokenLimits> | undefined,
  ) {
    super(handle, 'policy');
    this.limits = resolveTokenLimits(config, limits);
    if (tokenizer) handle.setTokenBytes(tokenizer.tokenBytes());
  }

  /** A randomly initialised policy (normal(0, 0.02) weights) for tests and benchmarks. */
  static async random(
    config: NativeQwen2Config,
    options: PolicyOptions & { seed?: number; tokenizer?: TextTokenizer } = {},
  ): Promise<Policy> {
    const { dtype, generationDtype, device } = checkDevice(options);
    const seed = expectInteger(options.seed ?? 0, 'options.seed', { min: 0 });
    resolveTokenLimits(config, options.limits); // bad limits fail before the weights are made
    checkParameterBudget(config, bytesPerParameter(dtype, generationDtype));
    const handle = await enqueueTorchJob(() => native().Qwen2Policy.random({ config, seed, dtype, generationDtype, device }));
    return new Policy(handle, config, options.tokenizer, options.limits);
  }

  /** Loads weights from validated safetensors entries (see load-policy.ts for whole folders). */
  static async fromWeightFiles(
    config: NativeQwen2Config,
    files: NativeWeightFile[],
    options: PolicyOptions & { tokenizer?: TextTokenizer } = {},
  ): Promise<Policy> {
    const { dtype, generationDtype, device } = checkDevice(options);
    resolveTokenLimits(config, options.limits);
    const handle = await enqueueTorchJob(() => native().Qwen2Policy.load({ config, files, dtype, generationDtype, device }));
    return new Policy(handle, config, options.tokenizer, options.limits);
  }

  /** Per-token log-probs (and optionally entropies) of each sequence, teacher-forced, without gradients. */
  async score(sequences: ArrayLike<number>[], options: ScoreOptions = {}): Promise<ScoreResult> {
    this.checkLive();
    expectArray(sequences, 'sequences');
    if (sequences.length === 0) return { logps: [] };
    let total = 0;
    sequences.forEach((sequence, i) => {
      const length = (sequence as ArrayLike<number> | undefined)?.length;
      if (typeof length !== 'number') return; // packTokenRows names the bad row
      checkSequenceTokens(length, this.limits, `sequences[${i}]`);
      total += length;
    });
    checkBatchTokens(total, this.limits.maxScoreBatchTokens, 'maxScoreBatchTokens', `scoring ${sequences.length} sequences`);
    const { ids, lengths } = packTokenRows(sequences, this.config.vocab_size, 'sequences');
    const mask = options.lossMask === undefined ? undefined : packValueRows(options.lossMask, lengths, 'options.lossMask');
    const { lossMask: _, ...config } = expectObject(options, 'options');
    const score = parseConfig(scoreConfigSchema, config, 'score options');
    const result = await enqueueTorchJob(() => this.handle.score({ ids, lengths, ...score, ...(mask ? { mask } : {}) }));
    return { logps: splitRows(result.logps, lengths), entropies: result.entropies ? splitRows(result.entropies, lengths) : undefined };
  }

  /** A new multi-turn generation session over this policy (see GenerationSession). */
  createSession(options: { vocabLimit?: number } = {}): PolicySession {
    this.checkLive();
    const vocabLimit = options.vocabLimit ?? this.tokenizer?.vocabSize ?? 0;
    expectInteger(vocabLimit, 'options.vocabLimit', { min: 0 });
    return new PolicySession(this.handle.createSession(), this.config.vocab_size, vocabLimit, this.limits);
  }

  /** Parameter names (Hugging Face's) and shapes. */
  parameters(): { name: string; shape: number[] }[] {
    this.checkLive();
    return this.handle.parameters();
  }

  /** A parameter's values as float32, row-major. */
  parameterValues(name: string): Float32Array {
    this.checkLive();
    return this.handle.parameterValues(expectString(name, 'name'));
  }

  /** Writes all parameters to one safetensors file, atomically. */
  async saveWeights(path: string, dtype: 'float32' | 'bfloat16' = 'float32'): Promise<void> {
    this.checkLive();
    expectString(path, 'path', { nonEmpty: true });
    await enqueueTorchJob(() => this.handle.save(path, dtype));
  }

  /** The native handle, for other native calls (the trainer) in this package. */
  nativeHandle(): NativeQwen2Policy {
    this.checkLive();
    return this.handle;
  }
}

/** What the session knows of a native row, mirrored to size a generate call before it runs. */
interface RowShape {
  /** Tokens the row holds. */
  length: number;
}

/** GenerationSession over the native batched generator. */
export class PolicySession implements GenerationSession {
  private readonly shapes = new Map<number, RowShape>();
  /** generate() calls not yet settled: dispose() waits for them instead of failing with ERR_BUSY. */
  private running = 0;
  private disposeRequested = false;

  constructor(
    private readonly handle: NativeGenerationSession,
    private readonly vocabSize: number,
    private readonly vocabLimit: number,
    private readonly limits: TokenLimits = { maxSequenceTokens: Number.MAX_SAFE_INTEGER, maxGenerationBatchTokens: Number.MAX_SAFE_INTEGER, maxScoreBatchTokens: Number.MAX_SAFE_INTEGER },
  ) {}

  addRow(promptTokens: number[]): number {
    const ids = expectTokenIds(promptTokens, 'promptTokens', this.vocabSize);
    if (ids.length === 0) throw new RangeError('promptTokens must not be empty');
    checkSequenceTokens(ids.length, this.limits, 'the prompt');
    const rowId = this.handle.addRow(ids);
    this.shapes.set(rowId, { length: ids.length });
    return rowId;
  }

  append(rowId: number, tokens: number[]): void {
    expectInteger(rowId, 'rowId', { min: 0 });
    const ids = expectTokenIds(tokens, 'tokens', this.vocabSize);
    const shape = this.shapes.get(rowId);
    if (shape) checkSequenceTokens(shape.length + ids.length, this.limits, `row ${rowId} with the appended tokens`);
    this.handle.append(rowId, ids);
    if (shape) shape.length += ids.length;
  }

  clone(rowId: number, keepTokens?: number): number {
    expectInteger(rowId, 'rowId', { min: 0 });
    if (keepTokens !== undefined) expectInteger(keepTokens, 'keepTokens', { min: 1 });
    const copy = this.handle.clone(rowId, keepTokens);
    const shape = this.shapes.get(rowId);
    if (shape) this.shapes.set(copy, { length: keepTokens ?? shape.length });
    return copy;
  }

  tokens(rowId: number): number[] {
    return Array.from(this.handle.tokens(expectInteger(rowId, 'rowId', { min: 0 })));
  }

  async generate(rowIds: number[], options: SamplingOptions): Promise<GeneratedRow[]> {
    expectArray(rowIds, 'rowIds').forEach((id, i) => expectInteger(id, `rowIds[${i}]`, { min: 0 }));
    const o = expectObject(options, 'options');
    const sampling = {
      temperature: expectNumber(o.temperature, 'options.temperature', { min: 0 }),
      topP: expectNumber(o.topP, 'options.topP', { min: Number.MIN_VALUE, max: 1 }),
      topK: expectInteger(o.topK, 'options.topK'),
      maxNewTokens: expectInteger(o.maxNewTokens, 'options.maxNewTokens', { min: 1 }),
      seed: expectInteger(o.seed, 'options.seed', { min: 0 }),
      stopStrings: expectArray(o.stopStrings, 'options.stopStrings').map((s, i) =>
        expectString(s, `options.stopStrings[${i}]`, { nonEmpty: true }),
      ),
      eosTokenIds: expectTokenIds(o.eosTokenIds, 'options.eosTokenIds', this.vocabSize), // an id past the vocabulary never stops a row
      vocabLimit: this.vocabLimit,
    };
    this.checkGenerationBudget(rowIds, sampling.maxNewTokens);
    this.running += 1;
    let rows;
    try {
      rows = await enqueueTorchJob(() => this.handle.generate(rowIds, sampling));
    } finally {
      this.running -= 1;
      if (this.disposeRequested && this.running === 0) this.dispose();
    }
    for (const row of rows) {
      const shape = this.shapes.get(row.rowId);
      if (shape) shape.length += row.tokens.length;
    }
    return rows.map((row) => ({
      rowId: row.rowId,
      tokens: Array.from(row.tokens),
      logprobs: Array.from(row.logprobs),
      modelLogprobs: Array.from(row.modelLogprobs),
      stopReason: row.stopReason,
      ...(row.stopString === undefined ? {} : { stopString: row.stopString }),
    }));
  }

  release(rowIds: number[]): void {
    const ids = expectArray(rowIds, 'rowIds').map((id, i) => expectInteger(id, `rowIds[${i}]`, { min: 0 }));
    this.handle.release(ids);
    for (const id of ids) this.shapes.delete(id);
  }

  /**
   * Refuses a generate call before it allocates anything: every row must end within maxSequenceTokens, and the
   * KV cache the rows will hold after it, each row's tokens plus maxNewTokens, must fit maxGenerationBatchTokens.
   */
  private checkGenerationBudget(rowIds: number[], maxNewTokens: number): void {
    let held = 0;
    for (const id of rowIds) {
      const shape = this.shapes.get(id);
      if (!shape) continue; // an unknown row: the native call names it
      checkSequenceTokens(shape.length + maxNewTokens, this.limits, `row ${id} (${shape.length} tokens) plus maxNewTokens ${maxNewTokens}`);
      held += shape.length;
    }
    checkBatchTokens(held + rowIds.length * maxNewTokens, this.limits.maxGenerationBatchTokens,
      'maxGenerationBatchTokens', `generating for ${rowIds.length} rows (${held} tokens held + ${maxNewTokens} new tokens each)`);
  }

  /** Rows currently held. */
  rowCount(): number {
    return this.handle.rowCount();
  }

  /** Bytes of KV cache the rows hold, in whole 16-token pages; pages a clone shares with its parent count once. */
  cacheBytes(): number {
    return this.handle.cacheBytes();
  }

  /**
   * Frees the rows and their caches. While a generate() call runs, the session is freed as soon as it settles
   * (so cleanup after another failure, e.g. a sibling cohort's, never replaces that error with ERR_BUSY).
   */
  dispose(): void {
    if (this.running > 0) {
      this.disposeRequested = true;
      return;
    }
    this.handle.dispose();
    this.shapes.clear();
  }
}
