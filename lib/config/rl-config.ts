// zod schema of an RL run (GRPO or REX-RAG): rollouts, REX-RAG's exploration, the trainer, evaluation and
// checkpoints. Defaults follow the REX-RAG recipe (rex-rag-method.md) scaled to one machine.
import { z } from 'zod';

import { trainerConfigSchema } from './train-config.js';

export const rolloutConfigSchema = z
  .object({
    maxTurns: z.number().int().min(0).default(5),
    maxResponseTokensPerTurn: z.number().int().min(1).default(500),
    maxObservationTokens: z.number().int().min(1).default(500),
    maxContextTokens: z.number().int().min(2).default(4096),
    topk: z.number().int().min(1).default(3),
    temperature: z.number().min(0).default(1),
    topP: z.number().gt(0).max(1).default(1),
    cohorts: z.number().int().min(1).default(2).describe('question cohorts run concurrently (retrieval overlaps generation)'),
    promptTemplate: z
      .enum(['search-r1', 'compact'])
      .default('search-r1')
      .describe("the user prompt: Search-R1's instruction + question (real models), or the question alone (small models trained on the protocol, e.g. the lab)"),
  })
  .strict();

export const rexConfigSchema = z
  .object({
    probeProbability: z.number().min(0).max(1).default(20 / 101).describe('chance of a probe per wrong original answer'),
    keepRatio: z.number().min(0).default(0.12).describe('initial probe budget as a fraction of the original rollouts (α = 0.12)'),
    budgetMultiple: z.number().int().min(1).default(1).describe('round the probe budget down to a multiple of this (the reference: 8 GPUs)'),
    capKeepRatio: z.boolean().default(false).describe('cap the adaptive ratio at keepRatio (the DAPO trainer variant)'),
    minErrorRate: z.number().gt(0).max(1).default(1e-3).describe('floor on z in the probe-prefix density'),
    promptPool: z.array(z.string().min(1)).optional().describe('custom exploration prompts (default: the 30 built in)'),
  })
  .strict();

export const rlConfigSchema = z
  .object({
    algorithm: z.enum(['grpo', 'rex-rag']).default('rex-rag'),
    steps: z.number().int().min(1).default(20),
    questionsPerStep: z.number().int().min(1).default(16),
    groupSize: z.number().int().min(1).default(5),
    seed: z.number().int().min(0).default(0),
    rollout: rolloutConfigSchema.default(rolloutConfigSchema.parse({})),
    rex: rexConfigSchema.default(rexConfigSchema.parse({})),
    trainer: trainerConfigSchema.default(trainerConfigSchema.parse({})),
    eval: z
      .object({
        every: z.number().int().min(0).default(5).describe('evaluate every N steps (0: only at the start and the end)'),
        maxQuestions: z.number().int().min(0).default(0).describe('0: all evaluation questions'),
      })
      .strict()
      .default({ every: 5, maxQuestions: 0 }),
    checkpoint: z
      .object({
        every: z.number().int().min(0).default(0).describe('save every N steps (0: only at the end)'),
        keepLast: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ every: 0, keepLast: 3 }),
  })
  .strict();

export type RlConfig = z.infer<typeof rlConfigSchema>;
