// The one place where the run's `algorithm` picks its strategy.
import type { RlConfig } from '../../config/rl-config.js';
import { RexragError } from '../../errors.js';
import { resolvePromptPool } from '../../explore/prompt-pool.js';
import { PromptTrie } from '../../explore/prompt-trie.js';
import type { TextTokenizer } from '../../tokenizer/types.js';
import { GrpoAlgorithm } from './grpo.js';
import { RexRagAlgorithm } from './rex-rag.js';
import type { RlAlgorithm } from './types.js';

export { GrpoAlgorithm } from './grpo.js';
export { RexRagAlgorithm } from './rex-rag.js';
export type { BehaviourLogps, MixtureScalars, ProbeSelection, RlAlgorithm, StepRollouts } from './types.js';

/** The strategy of `config.algorithm`, with the state of a resumed run when given. */
export function createAlgorithm(config: RlConfig, tokenizer: TextTokenizer, state?: { rho: number }): RlAlgorithm {
  switch (config.algorithm) {
    case 'grpo':
      return new GrpoAlgorithm(config.rex);
    case 'rex-rag':
      return new RexRagAlgorithm(config.rex, promptTrie(config.rex, tokenizer), config.seed, state);
  }
}

/** The trie of the run's pool: the custom or built-in prompts, cut to `poolSize` when given. */
function promptTrie(rex: RlConfig['rex'], tokenizer: TextTokenizer): PromptTrie {
  const pool = resolvePromptPool(rex.promptPool);
  if (rex.poolSize !== undefined && rex.poolSize > pool.length) {
    throw new RexragError(`rex.poolSize (${rex.poolSize}) is larger than the prompt pool (${pool.length} prompts)`, 'ERR_INVALID_ARG');
  }
  const trie = PromptTrie.fromPrompts(tokenizer, pool.slice(0, rex.poolSize ?? pool.length));
  if (!trie.sharedFirstToken) {
    process.emitWarning(
      'the exploration prompts do not all start with the same token: the probe density takes the first token\'s share of the pool ' +
        '(the reference assumes 1 there, exact only for pools that share a first token such as "<think>")',
      { code: 'REXRAG_PROMPT_POOL' },
    );
  }
  return trie;
}
