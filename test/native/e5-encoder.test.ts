// The native BERT encoder (BertEncoder): its mean-pooled, normalised output matches an independent float64
// TypeScript BERT; padding and batching do not change a row; outputs are unit-norm; checkpoint loading is strict
// (missing, unexpected and mis-shaped keys are named) yet accepts `bert.` keys, `pooler.*` and position_ids;
// bad input is a clear error, never a crash.
import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { resolveWeightFiles, toNativeWeightFiles } from '../../lib/model/safetensors.js';
import { native } from '../../lib/native.js';
import type { NativeBertEncoder } from '../../lib/native-types.js';
import { referenceBertHidden, referenceE5Embedding } from '../helpers/reference-bert.js';
import { removeTemporaryFolders, temporaryFolder } from '../helpers/retrieval-corpus.js';
import { writeTinyBert, type TinyBertFolder, type TinyBertOptions } from '../helpers/tiny-bert.js';

// float32 libtorch against a float64 reference through 2 layers of hidden size 32: differences are ~1e-7.
const tolerance = 1e-5;

let tiny: TinyBertFolder;
let encoder: NativeBertEncoder;

async function loadFolder(dir: string): Promise<NativeBertEncoder> {
  const files = toNativeWeightFiles(await resolveWeightFiles(dir));
  return native().BertEncoder.load({ config: tiny.config, files });
}

async function writeVariant(options: TinyBertOptions): Promise<string> {
  const dir = await temporaryFolder('rexrag-e5-');
  await writeTinyBert(dir, options);
  return dir;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Rows of token ids (each [CLS] ... [SEP]) of different lengths. */
const rows = [
  [2, 40, 41, 42, 3],
  [2, 7, 99, 120, 55, 61, 61, 88, 17, 150, 33, 3],
  [2, 3],
  [2, 150, 140, 130, 120, 110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5, 6, 7, 8, 9, 11, 12, 13, 3],
  [2, 77, 78, 3],
];

function packed(list: number[][]): { ids: Int32Array; lengths: Int32Array } {
  return { ids: Int32Array.from(list.flat()), lengths: Int32Array.from(list, (r) => r.length) };
}

test.before(async () => {
  tiny = await writeTinyBert(await temporaryFolder('rexrag-e5-'), { seed: 5 });
  encoder = await loadFolder(tiny.dir);
});
test.after.always(async () => {
  encoder?.dispose();
  await removeTemporaryFolders();
});

test.serial('mean-pooled, normalised embeddings match a float64 TypeScript BERT (rows padded in one batch)', async (t) => {
  const weights = (name: string): Float32Array => {
    const found = tiny.weights.get(name);
    if (!found) throw new Error(`the reference asked for ${name}, which the folder does not have`);
    return found;
  };
  const hidden = encoder.hiddenSize();
  t.is(hidden, 32);
  for (const normalize of [true, false]) {
    const flat = await encoder.encode({ ...packed(rows), normalize });
    t.is(flat.length, rows.length * hidden);
    let largest = 0;
    rows.forEach((ids, r) => {
      const expected = referenceE5Embedding(tiny.config, weights, ids, normalize);
      largest = Math.max(largest, maxAbsDiff(flat.subarray(r * hidden, (r + 1) * hidden), expected));
    });
    t.log(`normalize=${normalize}: largest |native - reference| = ${largest.toExponential(2)} (tolerance ${tolerance})`);
    t.true(largest < tolerance, `normalize=${normalize}: largest |native - reference| = ${largest}`);
  }
  // [CLS] pooling without normalisation is the first token's last hidden state.
  const cls = await encoder.encode({ ...packed(rows), pooling: 'cls', normalize: false });
  let largest = 0;
  rows.forEach((ids, r) => {
    largest = Math.max(largest, maxAbsDiff(cls.subarray(r * hidden, (r + 1) * hidden), referenceBertHidden(tiny.config, weights, ids)[0]!));
  });
  t.true(largest < tolerance, `cls pooling: largest |native - reference| = ${largest}`);
});

test.serial('padding and batching do not change a row; every row is unit-norm', async (t) => {
  const hidden = encoder.hiddenSize();
  const together = await encoder.encode(packed(rows));
  // A budget of 1 token runs every row alone; 30 mixes rows of different lengths with padding.
  for (const microBatchTokens of [1, 30, 100000]) {
    const again = await encoder.encode({ ...packed(rows), microBatchTokens });
    const diff = maxAbsDiff(again, together);
    t.true(diff < 1e-6, `microBatchTokens=${microBatchTokens}: largest difference ${diff}`);
  }
  for (let r = 0; r < rows.length; r++) {
    const alone = await encoder.encode(packed([rows[r]!]));
    const diff = maxAbsDiff(alone, together.subarray(r * hidden, (r + 1) * hidden));
    t.true(diff < 1e-6, `row ${r} alone vs in the batch: largest difference ${diff}`);
    let norm = 0;
    for (const v of alone) norm += v * v;
    t.true(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `row ${r} has norm ${Math.sqrt(norm)}`);
  }
  // The same row twice in a batch with others gives the same vector in both places.
  const repeated = await encoder.encode(packed([rows[1]!, rows[3]!, rows[1]!]));
  t.true(maxAbsDiff(repeated.subarray(0, hidden), repeated.subarray(2 * hidden, 3 * hidden)) < 1e-6);
  t.is((await encoder.encode(packed([]))).length, 0);
});

test.serial('a BertFor* checkpoint (keys under `bert.`, with pooler.* and embeddings.position_ids) loads to the same model', async (t) => {
  const dir = await writeVariant({
    seed: 5,
    keyPrefix: 'bert.',
    editTensors: (tensors) => [
      ...tensors,
      { name: 'bert.pooler.dense.weight', dtype: 'F32', shape: [32, 32], data: new Float32Array(32 * 32).fill(0.5) },
      { name: 'bert.pooler.dense.bias', dtype: 'F32', shape: [32], data: new Float32Array(32) },
      { name: 'bert.embeddings.position_ids', dtype: 'I64', shape: [1, 64], data: BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i)) },
    ],
  });
  const prefixed = await loadFolder(dir);
  try {
    t.deepEqual(await prefixed.encode(packed(rows)), await encoder.encode(packed(rows)));
  } finally {
    prefixed.dispose();
  }
});

test.serial('strict loading names missing, unexpected and mis-shaped keys', async (t) => {
  const dir = await writeVariant({
    editTensors: (tensors) => [
      ...tensors
        .filter((x) => x.name !== 'encoder.layer.1.attention.self.key.bias')
        .map((x) => (x.name === 'encoder.layer.0.intermediate.dense.bias'
          ? { ...x, shape: [32], data: new Float32Array(32) }
          : x)),
      { name: 'cls.predictions.bias', dtype: 'F32', shape: [4], data: new Float32Array(4) },
    ],
  });
  const error = await t.throwsAsync(loadFolder(dir));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), String(error));
  t.regex(error!.message, /missing: encoder\.layer\.1\.attention\.self\.key\.bias/);
  t.regex(error!.message, /unexpected: cls\.predictions\.bias/);
  t.regex(error!.message, /wrong shape: encoder\.layer\.0\.intermediate\.dense\.bias \(expected \[64\], got \[32\]\)/);
});

test.serial('bad input is a clear error: ids outside the vocabulary, too-long rows, mismatched lengths, wrong types, disposed', async (t) => {
  const vocab = tiny.config.vocab_size;
  const outside = await t.throwsAsync(encoder.encode({ ids: Int32Array.from([2, vocab, 3]), lengths: Int32Array.from([3]) }));
  t.true(isRexragError(outside, 'ERR_INVALID_ARG'));
  t.regex(outside!.message, new RegExp(`token id ${vocab} is outside the vocabulary`));
  const tooLong = await t.throwsAsync(encoder.encode({ ids: new Int32Array(65).fill(5), lengths: Int32Array.from([65]) }));
  t.regex(tooLong!.message, /max_position_embeddings/);
  const mismatch = await t.throwsAsync(encoder.encode({ ids: Int32Array.from([2, 3]), lengths: Int32Array.from([3]) }));
  t.regex(mismatch!.message, /lengths add up to 3 but ids has 2/);
  const pooling = await t.throwsAsync(encoder.encode({ ...packed(rows), pooling: 'max' as 'mean' }));
  t.regex(pooling!.message, /pooling must be "mean" or "cls"/);
  t.throws(() => encoder.encode({ ids: 'abc' as unknown as Int32Array, lengths: Int32Array.from([3]) }), {
    instanceOf: TypeError, message: /options\.ids must be an Int32Array/,
  });
  const badConfig = await t.throwsAsync(native().BertEncoder.load({
    config: { ...tiny.config, hidden_act: 'relu' }, files: toNativeWeightFiles(await resolveWeightFiles(tiny.dir)),
  }));
  t.regex(badConfig!.message, /hidden_act "relu" is not supported/);

  const other = await loadFolder(tiny.dir);
  other.dispose();
  t.throws(() => other.encode(packed(rows)), { message: /disposed/ });
});
