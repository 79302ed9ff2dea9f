// A token trie over the exploration-prompt pool: uniform prompt draws for probes, and the probe-policy probability
// μ of each spliced prompt token (REX-RAG's PrefixIndex, method doc §3.4 and §4.1). The mixture with π_old and the
// importance weights are lib/algo/probe-policy.ts's job.
import { RexragError } from '../errors.js';
import { randomInt, type RandomSource } from '../util/random.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { describe, expectArray, expectObject, expectTokenIds } from '../validate.js';
import { resolvePromptPool } from './prompt-pool.js';

interface TrieNode {
  /** Pool prompts (with multiplicity) whose tokens start with this node's prefix. */
  count: number;
  /** Pool prompts whose tokens are exactly this prefix. */
  ends: number;
  children: Map<number, TrieNode>;
}

export interface SampledPrompt {
  /** Index of the prompt in the pool. */
  index: number;
  /** Its text (null for a trie built from token sequences). */
  text: string | null;
  /** Its tokens (a fresh copy). */
  tokens: number[];
}

export interface Continuation {
  token: number;
  /** Pool prompts continuing the prefix with this token. */
  count: number;
  /** count / (prompts continuing the prefix at all): the trie conditional. */
  probability: number;
}

/**
 * The trie over the pool's token sequences, each prompt tokenized on its own (as the reference's `_process_next_obs`
 * does when it appends the prompt, so the ids match the ones in the probe's response). Two prompts that tokenize
 * to the same ids count twice.
 */
export class PromptTrie {
  /** Number of prompts in the pool (with multiplicity). */
  readonly size: number;
  /** Every prompt's first token is the same one (true for the `<think>` pools): μ_1 = 1, as the reference assumes. */
  readonly sharedFirstToken: boolean;
  /**
   * Indices of prompts whose tokens are a proper prefix of another prompt's tokens. The conditionals (like the
   * reference's) only count prompts that continue past a prefix, so such a prompt's sequenceProbability is not its
   * pool frequency. Empty for the default pool.
   */
  readonly prefixPrompts: readonly number[];
  private readonly root: TrieNode = { count: 0, ends: 0, children: new Map() };

  private constructor(
    private readonly sequences: readonly (readonly number[])[],
    private readonly texts: readonly string[] | null,
  ) {
    this.size = sequences.length;
    for (const tokens of sequences) {
      let node = this.root;
      node.count++;
      for (const token of tokens) {
        let child = node.children.get(token);
        if (child === undefined) node.children.set(token, (child = { count: 0, ends: 0, children: new Map() }));
        child.count++;
        node = child;
      }
      node.ends++;
    }
    this.sharedFirstToken = this.root.children.size === 1;
    this.prefixPrompts = Object.freeze(
      sequences.flatMap((tokens, index) => (this.nodeAt(tokens)!.children.size > 0 ? [index] : [])),
    );
  }

  /**
   * The trie of a prompt pool (default: EXPLORATION_PROMPTS; a custom pool is checked by resolvePromptPool),
   * each prompt encoded on its own with the rollout's tokenizer.
   */
  static fromPrompts(tokenizer: Pick<TextTokenizer, 'encode'>, prompts?: readonly string[]): PromptTrie {
    expectObject(tokenizer, 'tokenizer');
    if (typeof tokenizer.encode !== 'function') throw new TypeError('tokenizer.encode must be a function');
    const pool = resolvePromptPool(prompts);
    const sequences = pool.map((prompt, i) => {
      const tokens = expectTokenIds(tokenizer.encode(prompt), `tokenizer.encode(prompts[${i}])`);
      if (tokens.length === 0) throw new RangeError(`prompts[${i}] (${describe(prompt)}) encodes to no tokens`);
      return Object.freeze([...tokens]);
    });
    return new PromptTrie(sequences, pool);
  }

  /** The trie of already tokenized prompts (e.g. ids exported from the reference's pickle). */
  static fromTokenSequences(sequences: readonly (readonly number[])[]): PromptTrie {
    expectArray(sequences, 'sequences');
    if (sequences.length === 0) throw new RangeError('sequences must contain at least one token sequence');
    const copies = sequences.map((tokens, i) => {
      const ids = expectTokenIds(tokens, `sequences[${i}]`);
      if (ids.length === 0) throw new RangeError(`sequences[${i}] must not be empty`);
      return Object.freeze([...ids]);
    });
    return new PromptTrie(copies, null);
  }

  /** The tokens of pool prompt `index`. */
  promptTokens(index: number): number[] {
    const tokens = this.sequences[index];
    if (!Number.isInteger(index) || tokens === undefined) {
      throw new RangeError(`index must be an integer in [0, ${this.size - 1}], got ${describe(index)}`);
    }
    return [...tokens];
  }

  /**
   * One prompt drawn uniformly from the pool, like the reference's `revision_prompts[random.randint(0, 29)]`:
   * index = ⌊u·size⌋ for one draw u of `random`.
   */
  sample(random: RandomSource): SampledPrompt {
    const index = randomInt(random, 0, this.size - 1);
    return { index, text: this.texts?.[index] ?? null, tokens: [...this.sequences[index]!] };
  }

  /**
   * μ of each token of a spliced prompt, the trie's conditional PMF (the reference's `PrefixIndex.query`):
   *   μ_k = (pool prompts starting with tokens[0..k−1] whose k-th token is tokens[k−1])
   *         / (pool prompts starting with tokens[0..k−2] that have a k-th token),   k ≥ 1,
   * so the first token gets the share of pool prompts that start with it. The reference sets μ_1 = 1 outright;
   * that is the same value whenever every pool prompt starts with the same token (the `<think>` pools, see
   * sharedFirstToken), and the PMF stays exact for a custom pool that does not. The product μ_1·…·μ_m is the
   * drawn prompt's pool frequency (1/30 for a distinct prompt of 30). The "coarse" density of the ablation is
   * probe-policy.ts's coarseConditionals.
   *
   * Tokens that leave the trie (the reference raises a KeyError) are a RexragError ERR_INVALID_ARG naming the
   * position; tryConditionals returns null instead.
   */
  conditionals(tokens: readonly number[]): number[] {
    const result = this.walk(tokens);
    if (typeof result === 'string') throw new RexragError(result, 'ERR_INVALID_ARG');
    return result;
  }

  /** conditionals(tokens), or null when the tokens leave the trie. Bad argument types still throw. */
  tryConditionals(tokens: readonly number[]): number[] | null {
    const result = this.walk(tokens);
    return typeof result === 'string' ? null : result;
  }

  /**
   * The product of the conditionals: for a pool prompt, (prompts with exactly these tokens) / size when no prompt
   * is a proper prefix of another (prefixPrompts empty).
   */
  sequenceProbability(tokens: readonly number[]): number {
    return this.conditionals(tokens).reduce((product, mu) => product * mu, 1);
  }

  /** Pool prompts whose tokens are exactly `tokens` (0 when none). */
  multiplicity(tokens: readonly number[]): number {
    const ids = expectTokenIds(tokens, 'tokens');
    return this.nodeAt(ids)?.ends ?? 0;
  }

  /**
   * The tokens that continue `prefix` in the pool, each with its count and conditional probability (these sum to
   * 1 when there is any). An empty prefix lists the first tokens, with count / size. A prefix outside the trie
   * has no continuations.
   */
  continuations(prefix: readonly number[]): Continuation[] {
    const node = this.nodeAt(expectTokenIds(prefix, 'prefix'));
    if (node === undefined) return [];
    const continuing = node.count - node.ends;
    return [...node.children.entries()].map(([token, child]) => ({
      token,
      count: child.count,
      probability: child.count / continuing,
    }));
  }

  private nodeAt(tokens: readonly number[]): TrieNode | undefined {
    let node: TrieNode | undefined = this.root;
    for (const token of tokens) {
      node = node.children.get(token);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** The conditionals, or an error message naming the first position that leaves the trie. */
  private walk(tokens: readonly number[]): number[] | string {
    const ids = expectTokenIds(tokens, 'tokens');
    if (ids.length === 0) throw new RangeError('tokens must contain at least one prompt token');
    const mus: number[] = [];
    let node = this.root;
    for (let k = 0; k < ids.length; k++) {
      const child = node.children.get(ids[k]!);
      if (child === undefined) {
        return k === 0
          ? `prompt token 0 (id ${ids[0]}) is not the first token of any pool prompt`
          : `prompt token ${k} (id ${ids[k]}) leaves the prompt trie: no pool prompt continues its first ${k} ` +
              `token(s) with it${node.children.size === 0 ? ' (a pool prompt ends there)' : ''}; ` +
              'was the trie built with the rollout tokenizer?';
      }
      mus.push(child.count / (node.count - node.ends));
      node = child;
    }
    return mus;
  }
}
