// zod schemas for the trainer's configuration: the single source of its types, defaults and checks.
// Defaults are the REX-RAG / Search-R1 GRPO recipe (rex-rag-method.md §2) except where a comment says why not.
import { z } from 'zod';

/** Tokens per LM-head pass, scoring and training alike (the vocabulary is sliced so <= 16M logits exist at once). */
const logitChunkSchema = z.number().int().min(1).default(1024).describe('tokens per LM-head pass (vocabulary sliced to <= 16M logits)');

/** Log-probs come from softmax(logits / temperature): the rollouts' sampling temperature, so that the PPO ratio
 *  compares the distributions the tokens were actually drawn from (1: the model's own distribution). */
const temperatureSchema = z
  .number()
  .gt(0)
  .default(1)
  .describe('sampling temperature the log-probs are taken at: softmax(logits / temperature); use the rollout temperature');

export const lossConfigSchema = z
  .object({
    clipLow: z.number().min(0).lt(1).default(0.2).describe('PPO clip below 1: ratios under 1 − clipLow are clipped'),
    clipHigh: z.number().min(0).default(0.2).describe('PPO clip above 1'),
    dualClip: z
      .number()
      .refine((c) => c === 0 || c > 1, 'dualClip must be 0 (off) or > 1')
      .default(0)
      .describe('dual-clip constant c for negative advantages; 0 disables it (REX-RAG disables it)'),
    klType: z.enum(['none', 'k1', 'k2', 'k3']).default('k3').describe('KL estimator to the reference (k3 = low_var_kl)'),
    klCoef: z.number().min(0).default(0.001),
    entropyCoef: z.number().default(0),
    aggregation: z.enum(['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean']).default('token-mean'),
    temperature: temperatureSchema,
  })
  .strict();

export const optimizerConfigSchema = z
  .object({
    lr: z.number().min(0).default(1e-6),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    eps: z.number().gt(0).default(1e-8),
    weightDecay: z.number().min(0).default(0.01),
    maxGradNorm: z.number().default(1.0).describe('gradient-norm clip; <= 0 disables it'),
    schedule: z.enum(['constant', 'cosine']).default('constant'),
    warmupSteps: z.number().int().min(0).default(0),
    totalSteps: z.number().int().min(0).default(0).describe('cosine schedule length'),
    minLrRatio: z.number().min(0).max(1).default(0),
  })
  .strict()
  .refine((o) => o.schedule !== 'cosine' || o.totalSteps > o.warmupSteps, {
    message: 'a cosine schedule needs totalSteps > warmupSteps',
    path: ['totalSteps'],
  });

export const stepConfigSchema = z
  .object({
    miniBatchSize: z
      .number()
      .int()
      .min(0)
      .default(256)
      .describe("trajectories per optimizer update, as verl's ppo_mini_batch_size (the last mini-batch of an epoch is short, so updates grow with the kept probes); each update is the exact token-mean over its mini-batch; 0: one update over the whole batch"),
    epochs: z.number().int().min(1).default(1),
    microBatchTokens: z.number().int().min(1).default(8192).describe('padded tokens per forward/backward pass'),
    logitChunk: logitChunkSchema,
    shuffle: z.boolean().default(false),
    seed: z.number().int().min(0).default(0),
    recompute: z
      .boolean()
      .default(false)
      .describe('activation recomputation: each decoder layer keeps only its input and is run again in the backward pass (less memory on long rows, about one more forward pass of compute)'),
    autocast: z
      .enum(['off', 'bfloat16'])
      .default('off')
      .describe("'bfloat16': the training pass's matmuls (linear projections, attention, LM head) run in bfloat16 as under torch.autocast, while weights, gradients, AdamW state, norms, softmax and the loss stay float32; needs a float32 policy"),
  })
  .strict();

/** Options of Policy.score (teacher-forced log-probs without gradients). */
export const scoreConfigSchema = z
  .object({
    chunkSize: logitChunkSchema,
    microBatchTokens: z.number().int().min(1).default(16384).describe('rows are scored in micro-batches of at most this many padded tokens'),
    withEntropy: z.boolean().default(false).describe('also return the entropy of each predicting distribution'),
    temperature: temperatureSchema,
  })
  .strict();

export const trainerConfigSchema = z
  .object({
    loss: lossConfigSchema.default(lossConfigSchema.parse({})),
    optimizer: optimizerConfigSchema.default(optimizerConfigSchema.parse({})),
    step: stepConfigSchema.default(stepConfigSchema.parse({})),
    reference: z.enum(['frozen-copy', 'none']).default('frozen-copy'),
  })
  .strict();

export type LossConfig = z.infer<typeof lossConfigSchema>;
export type OptimizerConfig = z.infer<typeof optimizerConfigSchema>;
export type StepConfig = z.infer<typeof stepConfigSchema>;
export type TrainerConfig = z.infer<typeof trainerConfigSchema>;
export type ScoreConfig = z.infer<typeof scoreConfigSchema>;
/** What callers may pass: every field optional (zod fills the defaults). */
export type TrainerConfigInput = z.input<typeof trainerConfigSchema>;
export type StepConfigInput = z.input<typeof stepConfigSchema>;
export type ScoreConfigInput = z.input<typeof scoreConfigSchema>;
