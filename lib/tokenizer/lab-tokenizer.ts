// A small byte-level BPE tokenizer in the real tokenizer.json format for the lab's syllable world: hand-built
// merges make every syllable a token in a word-initial ("Ġka") and a continuation ("ka") form, every listed word
// one token, and the agent tags added tokens. Loading it is HfTokenizer's job, as for Qwen.
import { byteSymbolsInVocabOrder, bytesToByteLevel } from './byte-level.js';
import { qwen2Pipeline, TINY_SPECIAL_TOKENS, type TinyTokenizerFiles } from './tiny-tokenizer.js';

/** The agent's tags, each one added (non-special) token so a tag is never split. */
export const LAB_TAG_TOKENS = ['<search>', '</search>', '<answer>', '</answer>', '<information>', '</information>', '<think>', '</think>'] as const;

/**
 * A minimal chat template: the messages' contents joined by newlines, and a newline as the generation prompt.
 * The lab's prompts carry no instruction, so the frame is as short as it can be.
 */
export const LAB_CHAT_TEMPLATE = "{%- for message in messages %}{{- message['content'] + '\\n' }}{%- endfor %}";

export interface LabTokenizerOptions {
  /** Syllables names are made of: each a consonant-vowel pair of lowercase ASCII letters ("ka"). */
  syllables: readonly string[];
  /** Words (printable ASCII, no spaces or digits) that become one token each, with and without a leading space. */
  words: readonly string[];
}

const encoder = new TextEncoder();
const level = (text: string) => bytesToByteLevel(encoder.encode(text));

/** Applies `ranks` to the byte-level symbols of `word` as BPE does: always the lowest-ranked adjacent pair first. */
export function applyMerges(word: string, ranks: ReadonlyMap<string, number>): string[] {
  const pieces = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < pieces.length; i++) {
      const rank = ranks.get(`${pieces[i]} ${pieces[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return pieces;
    pieces.splice(best, 2, pieces[best]! + pieces[best + 1]!);
  }
}

/**
 * Builds the tokenizer. Merges, in rank order: consonant+vowel for each syllable, then "Ġ"+syllable, then for each
 * word (spaced and bare) the merges that join its pieces, grown outward from a piece that is not a syllable so
 * that no merge ever joins two syllable tokens (names, which are syllables only, therefore always split into
 * syllables). Throws when a word is made of syllables only, or when the result does not hold.
 */
export function buildLabTokenizer(options: LabTokenizerOptions): TinyTokenizerFiles {
  const syllables = [...new Set(options.syllables)];
  for (const syllable of syllables) {
    if (!/^[b-df-hj-np-tv-z][aeiou]$/.test(syllable)) throw new RangeError(`syllable ${JSON.stringify(syllable)} must be one consonant and one vowel`);
  }
  const words = [...new Set(options.words)];
  for (const word of words) {
    if (!/^[!-~]+$/.test(word) || /\d/.test(word)) throw new RangeError(`word ${JSON.stringify(word)} must be printable ASCII without spaces or digits`);
  }
  const vocab = new Map<string, number>(byteSymbolsInVocabOrder.map((symbol, id) => [symbol, id]));
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  const addMerge = (left: string, right: string) => {
    const key = `${left} ${right}`;
    if (ranks.has(key)) return;
    ranks.set(key, merges.length);
    merges.push([left, right]);
    if (!vocab.has(left + right)) vocab.set(left + right, vocab.size);
  };
  const space = level(' ');
  const syllableTokens = new Set<string>();
  for (const syllable of syllables) {
    addMerge(syllable[0]!, syllable[1]!);
    syllableTokens.add(syllable);
  }
  for (const syllable of syllables) {
    addMerge(space, syllable);
    syllableTokens.add(space + syllable);
  }
  addMerge(level('\n'), level('\n'));
  const forms = words.flatMap((word) => [level(word), space + level(word)]);
  // Later merges can change how an earlier word splits, so repeat until every form is one token.
  for (let round = 0; round < 8; round++) {
    let changed = false;
    for (const form of forms) {
      let pieces = applyMerges(form, ranks);
      if (pieces.length === 1) continue;
      changed = true;
      const seed = pieces.findIndex((piece) => !syllableTokens.has(piece));
      if (seed < 0) throw new RangeError(`word ${JSON.stringify(form)} is made of name syllables only; it would merge syllables inside names`);
      let at = seed;
      while (pieces.length > 1) {
        // Join the grown piece with its right neighbour first, then with its left one.
        const joinRight = at + 1 < pieces.length;
        const i = joinRight ? at : at - 1;
        addMerge(pieces[i]!, pieces[i + 1]!);
        pieces = [...pieces.slice(0, i), pieces[i]! + pieces[i + 1]!, ...pieces.slice(i + 2)];
        at = i;
      }
    }
    if (!changed) break;
  }
  for (const form of forms) {
    if (applyMerges(form, ranks).length !== 1) throw new RangeError(`could not make ${JSON.stringify(form)} one token`);
  }
  const added = [...TINY_SPECIAL_TOKENS, ...LAB_TAG_TOKENS].map((content, i) => ({
    id: vocab.size + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: i < TINY_SPECIAL_TOKENS.length,
  }));
  const firstSpecial = vocab.size;
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    ...qwen2Pipeline(),
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...rest }) => [String(id), rest])),
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: null,
    chat_template: LAB_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 2048,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  return {
    tokenizerJson,
    tokenizerConfig,
    endOfTextId: firstSpecial,
    imStartId: firstSpecial + 1,
    imEndId: firstSpecial + 2,
    vocabSize: firstSpecial + added.length,
    mergeCount: merges.length,
  };
}
