// zod schema of an RL run (GRPO or REX-RAG): rollouts, REX-RAG's exploration, the trainer, evaluation and
// checkpoints. Defaults follow the REX-RAG recipe (rex-rag-method.md) scaled to one machine.
import { z } from 'zod';

import { rexConfigSchema } from './rex-config.js';
import { rolloutConfigSchema } from './rollout-config.js';
import { trainerConfigSchema } from './train-config.js';

export { rexConfigSchema, type RexConfig } from './rex-config.js';
export { rolloutConfigSchema, type RolloutConfig } from './rollout-config.js';

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
    samples: z
      .object({
        every: z.number().int().min(0).default(5).describe('keep sample training rollouts at step 1 and every N steps (0: none)'),
        count: z.number().int().min(0).default(4).describe('trajectories kept per sampled step and per evaluation (0: none)'),
      })
      .strict()
      .default({ every: 5, count: 4 }),
    checkpoint: z
      .object({
        every: z.number().int().min(0).default(0).describe('save every N steps (0: only at the end)'),
        keepLast: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ every: 0, keepLast: 3 }),
  })
  .strict()
  .refine((c) => c.rollout.temperature === 0 || c.trainer.loss.temperature === c.rollout.temperature, {
    message: 'trainer.loss.temperature must equal rollout.temperature: the PPO ratio is taken at the temperature the tokens were sampled at (set both)',
    path: ['trainer', 'loss', 'temperature'],
  });

export type RlConfig = z.infer<typeof rlConfigSchema>;
export type RlConfigInput = z.input<typeof rlConfigSchema>;
