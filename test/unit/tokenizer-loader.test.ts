// The tokenizer loader's contract on small hand-made folders: clear errors for missing or invalid files, where
// EOS and pad ids come from, chat template sources and failures, non-byte-level tokenizers; plus the GPT-2
// byte alphabet (checked against tokenizers.js's own ByteLevel pre-tokenizer) and the tiny BPE trainer.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tokenizersJs from '@huggingface/tokenizers';
import test from 'ava';

import { RexragError } from '../../lib/errors.js';
import { trainByteLevelBpe } from '../../lib/tokenizer/bpe-trainer.js';
import { byteLevelToBytes, bytesToByteLevel, byteSymbolsInVocabOrder, byteToChar } from '../../lib/tokenizer/byte-level.js';
import { HfTokenizer, loadTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';
import { buildTinyTokenizer } from '../../lib/tokenizer/tiny-tokenizer.js';

let root: string;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rexrag-tok-loader-'));
});
test.after.always(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(root, 'f-'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const tiny = buildTinyTokenizer();
// tokenizers.js's published types do not resolve under NodeNext (see hf-tokenizer.ts); state the one class used.
const { ByteLevelPreTokenizer } = tokenizersJs as unknown as {
  ByteLevelPreTokenizer: new (config: object) => { pre_tokenize_text(text: string): string[] };
};

test('a folder without tokenizer.json, or with a broken one, is a clear ERR_INVALID_ARG', async (t) => {
  const empty = await folder({});
  const missing = await t.throwsAsync(loadTokenizer(empty), { instanceOf: RexragError });
  t.is(missing?.code, 'ERR_INVALID_ARG');
  t.is(missing?.message, `${join(empty, 'tokenizer.json')} does not exist`);
  const garbled = await folder({ 'tokenizer.json': '{"model": ' });
  await t.throwsAsync(loadTokenizer(garbled), { instanceOf: RexragError, message: new RegExp(`^${join(garbled, 'tokenizer.json')} is not valid JSON`) });
  const list = await folder({ 'tokenizer.json': [1, 2] });
  await t.throwsAsync(loadTokenizer(list), { message: `${list}: tokenizer.json must be a JSON object, got array(2)` });
  const noModel = await folder({ 'tokenizer.json': { added_tokens: [] } });
  await t.throwsAsync(loadTokenizer(noModel), { message: `${noModel}: tokenizer.json has no "model" object` });
  const badModel = await folder({ 'tokenizer.json': { model: { type: 'Nonsense' } } });
  await t.throwsAsync(loadTokenizer(badModel), { message: new RegExp(`^${badModel}: tokenizer.json could not be loaded: `) });
  const badConfig = await folder({ 'tokenizer.json': tiny.tokenizerJson, 'tokenizer_config.json': '[' });
  await t.throwsAsync(loadTokenizer(badConfig), { message: new RegExp(`${join(badConfig, 'tokenizer_config.json')} is not valid JSON`) });
  await t.throwsAsync(loadTokenizer(''), { instanceOf: RangeError, message: 'dir must not be empty' });
});

test('EOS ids come from generation_config.json, else tokenizer_config.json, else config.json', (t) => {
  const { tokenizerJson, tokenizerConfig, imEndId, endOfTextId } = tiny;
  const noEos = { ...tokenizerConfig, eos_token: null };
  t.deepEqual(new HfTokenizer({ tokenizerJson, tokenizerConfig, generationConfig: { eos_token_id: [imEndId, endOfTextId] } }).eosTokenIds, [imEndId, endOfTextId]);
  t.deepEqual(new HfTokenizer({ tokenizerJson, tokenizerConfig, modelConfig: { eos_token_id: endOfTextId } }).eosTokenIds, [imEndId]);
  t.deepEqual(new HfTokenizer({ tokenizerJson, tokenizerConfig: noEos, modelConfig: { eos_token_id: endOfTextId } }).eosTokenIds, [endOfTextId]);
  t.deepEqual(new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...noEos, eos_token: { content: '<|endoftext|>', special: true } } }).eosTokenIds, [endOfTextId]);
  t.deepEqual(new HfTokenizer({ tokenizerJson, tokenizerConfig: noEos }).eosTokenIds, []);
  t.throws(() => new HfTokenizer({ tokenizerJson, tokenizerConfig, generationConfig: { eos_token_id: 'x' } }, 'dir'), {
    instanceOf: RexragError, message: 'dir/generation_config.json: eos_token_id must be a token id or a list of token ids, got "x"',
  });
  t.throws(() => new HfTokenizer({ tokenizerJson, tokenizerConfig, generationConfig: { eos_token_id: 10_000 } }, 'dir'), {
    message: `dir: eos token id 10000 is outside the vocabulary (${tiny.vocabSize} ids)`,
  });
  t.throws(() => new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...tokenizerConfig, eos_token: '<|nope|>' } }, 'dir'), {
    message: 'dir: tokenizer_config.json eos_token "<|nope|>" is not in the vocabulary',
  });
});

test('the pad id comes from pad_token, else pad_token_id, else the first EOS id', (t) => {
  const { tokenizerJson, tokenizerConfig, imEndId, endOfTextId, imStartId } = tiny;
  t.is(new HfTokenizer({ tokenizerJson, tokenizerConfig }).padTokenId, endOfTextId);
  const noPad = { ...tokenizerConfig, pad_token: null };
  t.is(new HfTokenizer({ tokenizerJson, tokenizerConfig: noPad, generationConfig: { pad_token_id: imStartId } }).padTokenId, imStartId);
  t.is(new HfTokenizer({ tokenizerJson, tokenizerConfig: noPad }).padTokenId, imEndId);
  t.throws(() => new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...noPad, eos_token: null } }, 'dir'), { message: /^dir: no pad token/ });
});

test('the chat template may come from chat_template.jinja or a named list, and its failures are RexragErrors', async (t) => {
  const { tokenizerJson, tokenizerConfig } = tiny;
  const { chat_template: _template, ...withoutTemplate } = tokenizerConfig;
  const fromFile = await folder({ 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': withoutTemplate, 'chat_template.jinja': '{{ messages[0].content }}!' });
  t.is((await loadTokenizer(fromFile)).applyChatTemplate([{ role: 'user', content: 'hey' }]), 'hey!');
  const named = new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...withoutTemplate, chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D{{ eos_token }}' }] } });
  t.is(named.applyChatTemplate([]), 'D<|im_end|>');
  const none = new HfTokenizer({ tokenizerJson, tokenizerConfig: withoutTemplate }, 'dir');
  t.throws(() => none.applyChatTemplate([]), { instanceOf: RexragError, message: /^dir: no chat template/ });
  const unparsable = new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...withoutTemplate, chat_template: '{% for %}' } }, 'dir');
  t.throws(() => unparsable.applyChatTemplate([]), { instanceOf: RexragError, message: /^dir: the chat template does not parse: / });
  const raising = new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...withoutTemplate, chat_template: "{{ raise_exception('only user turns') }}" } }, 'dir');
  t.throws(() => raising.applyChatTemplate([]), { instanceOf: RexragError, message: 'dir: the chat template failed to render: only user turns' });
  t.throws(() => new HfTokenizer({ tokenizerJson, tokenizerConfig: { ...withoutTemplate, chat_template: 5 } }, 'dir'), { message: /chat_template must be a string or a list/ });
});

test('a WordPiece (non-byte-level) tokenizer encodes and decodes, but has no exact token bytes', (t) => {
  const vocab = { '[UNK]': 0, '[SEP]': 1, hello: 2, world: 3, '##s': 4, '!': 5 };
  const wordPiece = new HfTokenizer({
    tokenizerJson: {
      added_tokens: [{ id: 1, content: '[SEP]', special: true }],
      normalizer: { type: 'BertNormalizer', lowercase: true, clean_text: true, handle_chinese_chars: true, strip_accents: null },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: { type: 'WordPiece', vocab, unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 },
    },
    tokenizerConfig: { pad_token: '[SEP]' },
  }, 'bert');
  t.deepEqual(wordPiece.encode('Hello worlds!'), [2, 3, 4, 5]);
  t.is(wordPiece.decode([2, 3, 4]), 'hello worlds');
  t.is(wordPiece.padTokenId, 1);
  t.throws(() => wordPiece.tokenBytes(), { instanceOf: RexragError, message: 'bert: tokenBytes() needs a byte-level BPE tokenizer (ByteLevel decoder), this one has decoder "WordPiece"' });
});

test("the byte alphabet is GPT-2's: agrees with tokenizers.js's ByteLevel pre-tokenizer and inverts exactly", (t) => {
  t.is(new Set(byteToChar).size, 256);
  t.is(byteToChar[0x20], 'Ġ');
  t.is(byteToChar[0x0a], 'Ċ');
  t.is(byteToChar[0x41], 'A');
  t.is(byteToChar[0xad], 'Ń', 'the soft hyphen is remapped');
  t.is(byteSymbolsInVocabOrder[0], '!');
  t.is(byteSymbolsInVocabOrder[188], 'Ā', 'the first remapped byte (0x00) follows the 188 printable ones');
  const text = 'Any text: \u0000\u0001\t\n\r ~\u007f\u0080\u00ad ÿ Ā €😀 的';
  const library = new ByteLevelPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, use_regex: false }).pre_tokenize_text(text);
  t.deepEqual(library, [bytesToByteLevel(new TextEncoder().encode(text))]);
  const all = new Uint8Array(256).map((_, i) => i);
  t.deepEqual(byteLevelToBytes(bytesToByteLevel(all)), all);
  t.is(byteLevelToBytes('a b'), undefined, 'a raw space is not in the alphabet');
});

test('the BPE trainer merges the most frequent pair first, breaks ties by order and stops at the frequency floor', (t) => {
  // Pairs in ["abab", "abab", "abc"]: ab ×5, ba ×2, bc ×1 -> merge (a,b); then "ab ab" ×2 -> (ab,ab); then
  // only pairs seen once remain: (ab,c) -> stop with minFrequency 2.
  const model = trainByteLevelBpe(['abab', 'abab', 'abc'], 10);
  t.deepEqual(model.merges, [['a', 'b'], ['ab', 'ab']]);
  t.is(model.vocab.get('ab'), 256);
  t.is(model.vocab.get('abab'), 257);
  t.is(model.vocab.size, 258);
  t.deepEqual(trainByteLevelBpe(['xy', 'yx'], 5, 1).merges[0], ['x', 'y'], 'a tie goes to the pair that sorts first');
  t.deepEqual(trainByteLevelBpe(['abab', 'abab', 'abc'], 1).merges, [['a', 'b']], 'the merge count is a cap');
  t.throws(() => trainByteLevelBpe(['a b'], 3), { instanceOf: RangeError, message: 'word symbol " " is not in the byte-level alphabet' });
});
