// The `e5:MODEL_DIR` embedder: WordPiece tokenisation with [CLS]/[SEP] from the folder's post-processor, the
// "query: " / "passage: " prefixes, truncation at maxLength, vectors equal to the float64 reference of those
// ids, clear errors for unusable folders, and a tiny corpus indexed with e5:DIR that finds each passage.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { E5Embedder } from '../../lib/retrieval/e5-embedder.js';
import { parseEmbedderSpec } from '../../lib/retrieval/embedder.js';
import { createEmbedder } from '../../lib/retrieval/embedder-registry.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { referenceE5Embedding } from '../helpers/reference-bert.js';
import { generateCorpus, removeTemporaryFolders, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';
import { writeTinyBert, type TinyBertFolder } from '../helpers/tiny-bert.js';

let tiny: TinyBertFolder;
let embedder: E5Embedder;

/** Ids of space-separated vocabulary tokens, written out by hand (independent of the tokenizer library). */
function idsOf(tokens: string): number[] {
  return tokens.split(' ').map((token) => {
    const id = tiny.vocab.indexOf(token);
    if (id < 0) throw new Error(`"${token}" is not in the tiny vocabulary`);
    return id;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

test.before(async () => {
  tiny = await writeTinyBert(await temporaryFolder('rexrag-e5-'), { seed: 9 });
  embedder = await E5Embedder.load(tiny.dir);
});
test.after.always(async () => {
  embedder?.dispose();
  await removeTemporaryFolders();
});

test('texts get [CLS] + "query: " / "passage: " + WordPiece tokens + [SEP], and the vectors are those ids\' embeddings', async (t) => {
  const text = 'Paris is the CAPITAL of France; kalomi!';
  t.deepEqual(embedder.tokenize(text, 'query'), idsOf('[CLS] query : paris is the capital of france ; ka ##lo ##mi ! [SEP]'));
  t.deepEqual(embedder.tokenize(text, 'passage'), idsOf('[CLS] passage : paris is the capital of france ; ka ##lo ##mi ! [SEP]'));
  t.deepEqual(embedder.tokenize('zzq', 'query'), idsOf('[CLS] query : z ##z ##q [SEP]'));

  const weights = (name: string) => tiny.weights.get(name)!;
  const [query] = await embedder.embedQueries([text]);
  const [passage] = await embedder.embedPassages([text]);
  const queryDiff = maxAbsDiff(query!, referenceE5Embedding(tiny.config, weights, embedder.tokenize(text, 'query')));
  const passageDiff = maxAbsDiff(passage!, referenceE5Embedding(tiny.config, weights, embedder.tokenize(text, 'passage')));
  t.true(queryDiff < 1e-5 && passageDiff < 1e-5, `largest |native - reference|: query ${queryDiff}, passage ${passageDiff}`);
  t.true(maxAbsDiff(query!, passage!) > 1e-3, 'the prefix changes the vector');
  t.is(embedder.dim, 32);
  t.deepEqual(embedder.spec, { kind: 'e5', modelDir: tiny.dir });
});

test('texts are truncated to maxLength tokens, [CLS] and [SEP] included (the tail of the text is dropped)', async (t) => {
  const long = Array.from({ length: 40 }, (_, i) => ['north', 'south', 'east', 'west'][i % 4]).join(' ');
  // The default is min(256, max_position_embeddings) = 64 for the tiny model.
  t.is(embedder.maxLength, 64);
  t.is(embedder.tokenize(long, 'passage').length, 44); // [CLS] passage : + 40 words + [SEP]
  const short = await E5Embedder.load(tiny.dir, { maxLength: 12 });
  try {
    const ids = short.tokenize(long, 'passage');
    t.deepEqual(ids, idsOf('[CLS] passage : north south east west north south east west [SEP]'));
    const [vector] = await short.embedPassages([long]);
    const diff = maxAbsDiff(vector!, referenceE5Embedding(tiny.config, (name) => tiny.weights.get(name)!, ids));
    t.true(diff < 1e-5, `largest |native - reference| = ${diff}`);
    // Everything after the cut is ignored.
    const [same] = await short.embedPassages([`${long} river lake sea`]);
    t.deepEqual(same, vector);
  } finally {
    short.dispose();
  }
  await t.throwsAsync(E5Embedder.load(tiny.dir, { maxLength: 65 }), { instanceOf: RangeError, message: /options\.maxLength must be <= 64/ });
  await t.throwsAsync(E5Embedder.load(tiny.dir, { maxLength: 2 }), { instanceOf: RangeError, message: /options\.maxLength must be >= 3/ });
});

test('batches of many texts give the same vectors as one text at a time, each unit-norm', async (t) => {
  const texts = ['river', 'the largest city of england', '', 'who was born in the first year of the war', 'x y z'];
  const batched = await embedder.embedPassages(texts);
  const small = await E5Embedder.load(tiny.dir, { batchSize: 2, microBatchTokens: 16 });
  try {
    const split = await small.embedPassages(texts);
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await embedder.embedPassages([texts[i]!]);
      t.true(maxAbsDiff(batched[i]!, alone!) < 1e-6, `text ${i}`);
      t.true(maxAbsDiff(split[i]!, alone!) < 1e-6, `text ${i} (batchSize 2)`);
      const norm = Math.sqrt(batched[i]!.reduce((a, v) => a + v * v, 0));
      t.true(Math.abs(norm - 1) < 1e-5, `text ${i} norm ${norm}`);
    }
  } finally {
    small.dispose();
  }
  t.deepEqual(await embedder.embedQueries([]), []);
  await t.throwsAsync(embedder.embedQueries([3 as unknown as string]), { instanceOf: TypeError, message: /texts\[0\] must be a string/ });
});

test('unusable folders are clear errors naming the file and field', async (t) => {
  const missing = await t.throwsAsync(createEmbedder(parseEmbedderSpec(`e5:${join(tiny.dir, 'nope')}`)));
  t.true(isRexragError(missing, 'ERR_INVALID_ARG'));
  t.regex(missing!.message, /nope\/config\.json is missing/);

  const dir = await temporaryFolder('rexrag-e5-');
  await writeTinyBert(dir);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, hidden_act: 'relu', num_attention_heads: 5 }));
  const badConfig = await t.throwsAsync(E5Embedder.load(dir));
  t.regex(badConfig!.message, /config\.json: hidden_act: must be "gelu"/);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));

  const tokenizer = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify({ ...tokenizer, post_processor: null }));
  const noSpecials = await t.throwsAsync(E5Embedder.load(dir));
  t.true(isRexragError(noSpecials, 'ERR_INVALID_ARG'));
  t.regex(noSpecials!.message, /tokenizer\.json has no post_processor/);
});

test('a tiny corpus indexed with e5:DIR retrieves each passage for its own text', async (t) => {
  const folder = await temporaryFolder('rexrag-e5-index-');
  const { rows } = generateCorpus(40, { seed: 3, vocabularySize: 300, wordsPerPassage: 12 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const out = join(folder, 'index');
  const summary = await buildIndex({ corpus, out, embedder: `e5:${tiny.dir}`, ann: 'flat', chunkSize: 16 });
  t.is(summary.documents, 40);
  t.deepEqual(summary.embedder, { kind: 'e5', modelDir: tiny.dir });
  const retriever = await LocalRetriever.open(out);
  try {
    const hits = await retriever.search(rows.map((row) => row.contents), 3);
    const found = hits.filter((list, i) => list[0]!.document.id === rows[i]!.id).length;
    t.is(found, rows.length, `${found}/${rows.length} passages ranked first for their own text`);
  } finally {
    await retriever.index.close();
  }
});
