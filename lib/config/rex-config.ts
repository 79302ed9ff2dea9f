// zod schema of REX-RAG's exploration section: the probe trigger, the trajectory filter's budget, the policy
// correction's z floor and the exploration prompt pool. The single source of these options and their defaults
// (rex-rag-method.md §3–§5).
import { z } from 'zod';

export const rexConfigSchema = z
  .object({
    probeProbability: z.number().min(0).max(1).default(20 / 101).describe('chance of a probe per wrong original answer'),
    keepRatio: z.number().min(0).default(0.12).describe('initial probe budget as a fraction of the original rollouts (α = 0.12)'),
    budgetMultiple: z.number().int().min(1).default(1).describe('round the probe budget down to a multiple of this (the reference: 8 GPUs)'),
    capKeepRatio: z.boolean().default(false).describe('cap the adaptive ratio at keepRatio (the DAPO trainer variant)'),
    minErrorRate: z.number().gt(0).max(1).default(1e-3).describe('floor on z in the probe-prefix density'),
    promptPool: z.array(z.string().min(1)).optional().describe('custom exploration prompts (default: the 30 built in)'),
    poolSize: z.number().int().min(1).optional().describe('use only the first N prompts of the pool (the paper ablates 5, 15, 30)'),
    filter: z.boolean().default(true).describe('the trajectory filter: false keeps every probe (no budget)'),
    correction: z
      .enum(['mixture', 'none', 'coarse', 'sequence'])
      .default('mixture')
      .describe("probe tokens' behaviour policy: the mixture with the trie density (mixture), π_old as if on-policy (none), the whole prompt's 1/N charged to its first token (coarse), or the mixture with one length-normalised ratio per probe instead of one per token (sequence)"),
  })
  .strict();

export type RexConfig = z.infer<typeof rexConfigSchema>;
export type RexConfigInput = z.input<typeof rexConfigSchema>;
