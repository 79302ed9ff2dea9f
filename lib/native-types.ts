// The typed shape of the addon's exports. Every heavy call returns a Promise (it runs on a worker thread).
// Option objects are derived from the zod schemas (lib/config/train-config.ts), never re-declared here.
import type { LossConfig, OptimizerConfig, ScoreConfig, StepConfig } from './config/train-config.js';
import type { SamplingOptions } from './model/generation-types.js';
import type { Qwen2WeightShapes } from './model/qwen2-weights.js';

export interface RuntimeInfo {
  torchVersion: string;
  numThreads: number;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  /** The BLAS shared object mapped into the process (OpenBLAS is ~40x faster than the reference BLAS). */
  blasLibrary: string;
  parallelInfo: string;
}

export interface MatmulOptions {
  size: number;
  reps: number;
  device?: string;
  seed?: number;
}

export interface MatmulResult {
  size: number;
  reps: number;
  seconds: number;
  gflops: number;
  checksum: number;
  device: string;
  /** Intra-op threads the job ran with (on its worker thread). */
  threads: number;
}

/** Qwen2 hyper-parameters with Hugging Face's config.json names: the shape-deciding ones, plus these. */
export interface NativeQwen2Config extends Qwen2WeightShapes {
  max_position_embeddings?: number;
  rope_theta?: number;
  rms_norm_eps?: number;
}

export interface NativeTensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export interface NativeWeightFile {
  path: string;
  tensors: NativeTensorEntry[];
}

export interface NativePolicyOptions {
  config: NativeQwen2Config;
  dtype?: 'float32' | 'bfloat16' | 'float16';
  generationDtype?: 'float32' | 'bfloat16' | 'float16';
  device?: string;
}

/** Rows to score and a zod-parsed score config. */
export interface NativeScoreOptions extends ScoreConfig {
  ids: Int32Array;
  lengths: Int32Array;
  /** Aligned with ids: only tokens with 1 are scored. */
  mask?: Int32Array;
}

export interface NativeScoreResult {
  logps: Float32Array;
  entropies?: Float32Array;
}

/** The rollout loop's sampling options, plus the vocabulary limit (tokens at or above it are never sampled). */
export interface NativeSamplingOptions extends SamplingOptions {
  vocabLimit?: number;
}

export interface NativeGeneratedRow {
  rowId: number;
  tokens: Int32Array;
  logprobs: Float32Array;
  modelLogprobs: Float32Array;
  stopReason: 'stop' | 'eos' | 'length';
  stopString?: string;
}

export interface NativeGenerationSession {
  addRow(promptTokens: Int32Array | number[]): number;
  append(rowId: number, tokens: Int32Array | number[]): void;
  clone(rowId: number, keepTokens?: number): number;
  tokens(rowId: number): Int32Array;
  release(rowIds: number[]): void;
  generate(rowIds: number[], options: NativeSamplingOptions): Promise<NativeGeneratedRow[]>;
  rowCount(): number;
  cacheBytes(): number;
  dispose(): void;
}

export interface NativeQwen2Policy {
  score(options: NativeScoreOptions): Promise<NativeScoreResult>;
  save(path: string, dtype?: string): Promise<void>;
  parameters(): { name: string; shape: number[] }[];
  parameterValues(name: string): Float32Array;
  setTokenBytes(tokenBytes: Uint8Array[]): void;
  createSession(): NativeGenerationSession;
  dispose(): void;
}

export interface NativeQwen2PolicyClass {
  load(options: NativePolicyOptions & { files: NativeWeightFile[] }): Promise<NativeQwen2Policy>;
  random(options: NativePolicyOptions & { seed?: number }): Promise<NativeQwen2Policy>;
}

/** The loss, optimizer and step options the native trainer reads: zod-parsed configs, every field present. */
export type NativeLossOptions = LossConfig;
export type NativeOptimizerOptions = OptimizerConfig;
export type NativeStepOptions = StepConfig;

export interface NativeTrainBatch {
  ids: Int32Array;
  lengths: Int32Array;
  lossMask: Float32Array;
  behaviourLogps?: Float32Array;
  refLogps?: Float32Array;
  advantages: Float32Array;
  /** Aligned with ids: the index of each token's kind in TOKEN_KINDS (per-kind diagnostics when given). */
  tokenKinds?: Uint8Array;
  /** Per row: 1 when the row's tokens share one ratio, the geometric mean of its token ratios. */
  sequenceRatio?: Uint8Array;
  /** Data parallel: the global row of each row (ascending) in a global batch of globalRows rows. */
  globalIndex?: Int32Array;
  globalRows?: number;
}

/**
 * The metrics of one training step, in the order the native step reports them (the table in
 * native/core/step_metrics.h; a test checks the two agree). Means are over the step's loss tokens
 * (`train/nll`: mean −log π_θ before the update); `train/grad_norm` is the mean over its updates.
 */
export const STEP_METRIC_NAMES = [
  'train/loss',
  'train/pg_loss',
  'train/kl',
  'train/entropy',
  'train/nll',
  'train/clip_frac_high',
  'train/clip_frac_low',
  'train/approx_kl',
  'train/ratio_mean',
  'train/ratio_max',
  'train/grad_norm',
  'train/lr',
  'train/skipped_updates',
  'train/tokens',
  'train/updates',
  'train/micro_batches',
  'train/grad_norm_max',
] as const;
export type StepMetricName = (typeof STEP_METRIC_NAMES)[number];

/** Token kinds of a batch's tokenKinds (value = index), as they appear in per-kind metric names. */
export const TOKEN_KINDS = ['original', 'probe_prefix', 'probe_prompt', 'probe_continuation'] as const;
/**
 * Per-kind diagnostics over the step's loss tokens of that kind, reported as `train/<kind>/<name>` when the
 * batch has tokenKinds: ratio r = π_θ / behaviour (mean, max, min), clip fractions, approx-KL (mean −log r),
 * k3 KL to the reference (0 when the loss has no KL term), mean advantage, token count.
 */
export const TOKEN_KIND_METRICS = [
  'ratio_mean', 'ratio_max', 'ratio_min', 'clip_frac_high', 'clip_frac_low', 'approx_kl', 'kl_k3', 'advantage_mean', 'tokens',
] as const;
export type TokenKindMetricName = `train/${(typeof TOKEN_KINDS)[number]}/${(typeof TOKEN_KIND_METRICS)[number]}`;
export type NativeStepMetrics = Record<StepMetricName, number> & Partial<Record<TokenKindMetricName, number>>;

export interface NativeTrainer {
  step(batch: NativeTrainBatch, options: NativeStepOptions): Promise<NativeStepMetrics>;
  referenceScore(options: NativeScoreOptions): Promise<{ logps: Float32Array }>;
  lrAt(step: number): number;
  stepsDone(): number;
  saveState(path: string): Promise<void>;
  loadState(files: NativeWeightFile[]): Promise<void>;
  saveReference(path: string): Promise<void>;
  loadReference(files: NativeWeightFile[]): Promise<void>;
  /** Data parallel over `group` from now on; broadcasts rank 0's weights (a collective). */
  setProcessGroup(group: NativeProcessGroup): Promise<void>;
  dispose(): void;
}

/** A c10d process group (native/core/process_group.h); collectives resolve when every rank has joined. */
export interface NativeProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: string;
  allReduce(values: Float64Array, op: 'sum' | 'max' | 'min'): Promise<Float64Array>;
  allGather(values: Float64Array): Promise<Float64Array[]>;
  allGatherBytes(bytes: Uint8Array): Promise<Uint8Array[]>;
  barrier(): Promise<void>;
  dispose(): void;
}

export interface NativeProcessGroupOptions {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  timeoutSeconds: number;
  backend: 'gloo' | 'nccl';
  /** Gloo's network interface; '' derives it from masterAddr. */
  interface: string;
  /** NCCL: this rank's CUDA device ('cuda:1'), where the small collectives' tensors live; '' for Gloo. */
  device: string;
}

export interface NativeLossCheckInputs {
  logps: Float32Array;
  entropies?: Float32Array;
  behaviourLogps: Float32Array;
  refLogps?: Float32Array;
  advantages: Float32Array;
  lossMask: Float32Array;
  lengths: Int32Array;
}

export interface NativeLossCheck extends NativeStepMetrics {
  gradLogps: Float32Array;
  gradEntropies: Float32Array;
}

export interface NativeAdamwInputs extends NativeOptimizerOptions {
  params: Float32Array;
  grads: Float32Array;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  step: number;
  /** The gradient used is grads x gradScale (the trainer's clipping factor). */
  gradScale: number;
  /** true: the trainer's fused CPU pass; false: the same update in ATen ops. */
  fused: boolean;
}

/** BERT hyper-parameters with Hugging Face's config.json names (BertConfig); optional ones default as HF's. */
export interface NativeBertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  max_position_embeddings?: number;
  type_vocab_size?: number;
  layer_norm_eps?: number;
  hidden_act?: string;
  position_embedding_type?: string;
}

/** A BERT sentence encoder (HF BertModel + pooling); encode() returns rows × hiddenSize floats, row-major. */
export interface NativeBertEncoder {
  encode(options: {
    ids: Int32Array;
    lengths: Int32Array;
    normalize?: boolean;
    pooling?: 'mean' | 'cls';
    microBatchTokens?: number;
  }): Promise<Float32Array>;
  hiddenSize(): number;
  dispose(): void;
}

export interface NativeBertEncoderClass {
  load(options: { config: NativeBertConfig; files: NativeWeightFile[]; dtype?: 'float32' | 'bfloat16' | 'float16'; device?: string }): Promise<NativeBertEncoder>;
}

/** The trainer's kernels on plain arrays, compared with slow references by the tests. */
export interface NativeBlockCacheStats {
  /** Freed tensor memory held for reuse. */
  cachedBytes: number;
  /** The most it holds (REXRAG_CPU_BLOCK_CACHE); 0 when the cache is off. */
  budgetBytes: number;
  /** Allocations of 64 KiB or more served from the cache, and those that needed new memory. */
  hits: number;
  misses: number;
  /** Bytes freed by this call (release only). */
  releasedBytes: number;
}

export interface NativeChecks {
  policyLoss(inputs: NativeLossCheckInputs, loss: NativeLossOptions): NativeLossCheck;
  adamwUpdate(inputs: NativeAdamwInputs): { params: Float32Array; expAvg: Float32Array; expAvgSq: Float32Array };
  /** Largest differences between the chunked log-prob kernel and plain autograd on random inputs. */
  tokenLogprobs(options: { rows: number; hidden: number; vocab: number; chunk: number; entropyWeight: number; seed: number; maxLogits: number; temperature: number }): {
    logp: number;
    entropy: number;
    gradHidden: number;
    gradWeight: number;
  };
  /** The linear layers' kernels (fast_linear, forward and backward) and at::linear, each against a float64 reference, and their thread-count independence. */
  fastLinear(options: { rows: number; inFeatures: number; outFeatures: number; bias: boolean; seed: number }): {
    output: number;
    gradInput: number;
    gradWeight: number;
    gradBias: number;
    atenOutput: number;
    atenGradInput: number;
    atenGradWeight: number;
    sameOnOneThread: boolean;
    sameGradientsOnOneThread: boolean;
  };
  /** fast_linear on bfloat16 operands without gradients (native/core/gemm_bf16.cc) and at::linear in bfloat16, each
   *  against float64 (differences relative to the largest |output|); `kernel`: whether the bfloat16 kernel ran. */
  bf16Linear(options: { rows: number; inFeatures: number; outFeatures: number; bias: boolean; seed: number }): {
    output: number;
    atenOutput: number;
    sameOnOneThread: boolean;
    kernel: boolean;
  };
  /** The fused RMSNorm (native/core/rms_norm.cc) and ATen's ops, each against HF's expression in float64. */
  rmsNorm(options: { rows: number; width: number; seed: number }): {
    output: number;
    gradInput: number;
    gradWeight: number;
    atenOutput: number;
    atenGradInput: number;
    atenGradWeight: number;
    sameOnOneThread: boolean;
  };
  /** The fused attention (native/core/fused_attention.cc) and ATen's ops, each against HF's expression in float64. */
  attention(options: { batch: number; steps: number; heads: number; kvHeads: number; headDim: number; seed: number }): {
    output: number;
    gradQ: number;
    gradK: number;
    gradV: number;
    atenOutput: number;
    atenGradQ: number;
    atenGradK: number;
    atenGradV: number;
    sameOnOneThread: boolean;
  };
}

export interface NativeBinding {
  BertEncoder: NativeBertEncoderClass;
  Qwen2Policy: NativeQwen2PolicyClass;
  Trainer: new (
    policy: NativeQwen2Policy,
    options: { loss: NativeLossOptions; optimizer: NativeOptimizerOptions; keepReference: boolean },
  ) => NativeTrainer;
  /** STEP_METRIC_NAMES as the addon's table has them. */
  stepMetricNames: string[];
  /** TOKEN_KINDS and TOKEN_KIND_METRICS as the addon's tables have them. */
  tokenKindNames: string[];
  tokenKindMetricNames: string[];
  /** Test-only kernels on plain arrays, for reference checks (native/core/checks.h). */
  checks: NativeChecks;
  runtimeInfo(): RuntimeInfo;
  setNumThreads(numThreads: number): void;
  setErrorClass(errorClass: new (message: string, code: never) => Error): void;
  matmulBenchmark(options: MatmulOptions): Promise<MatmulResult>;
  /** Returns freed native heap to the system (glibc malloc_trim); true when memory was released. */
  trimNativeMemory(): boolean;
  /** The CPU block cache's counters (native/core/block_cache.h); with `release` true it first frees every cached block. */
  blockCache(release?: boolean): NativeBlockCacheStats;
  /** Generation sessions alive in native memory (created and not yet freed by dispose() or the finalizer). */
  liveSessions(): number;
  /** Rendezvous through rank 0's TCPStore; resolves when every rank has joined. */
  createProcessGroup(options: NativeProcessGroupOptions): Promise<NativeProcessGroup>;
  /** What this build can do: c10d with Gloo (libgloo-dev at build time), NCCL (a CUDA libtorch). */
  distributedInfo(): { c10d: boolean; nccl: boolean };
  /** Exact inner-product top k of each query row over the vector rows (native/core/vector_search.h), best first. */
  flatSearch(vectors: Float32Array, dim: number, queries: Float32Array, k: number, chunkRows: number): { indices: Int32Array; scores: Float32Array };
}
