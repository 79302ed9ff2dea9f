// Embedders: spec parsing, the registry seam (e5 is built in; see test/native/e5-*), and the hashed embedder's
// determinism, unit norm and ability to find a passage from its own words.
import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { parseEmbedderSpec, DEFAULT_HASHED_SPEC, type DenseEmbedder } from '../../lib/retrieval/embedder.js';
import { createEmbedder, registerEmbedder } from '../../lib/retrieval/embedder-registry.js';
import { HashedEmbedder } from '../../lib/retrieval/hashed-embedder.js';
import { wordTokens } from '../../lib/retrieval/tokenize.js';
import { generateCorpus, seededRandom } from '../helpers/retrieval-corpus.js';

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

test('parseEmbedderSpec accepts the documented forms and names the bad ones', (t) => {
  t.deepEqual(parseEmbedderSpec('hashed'), DEFAULT_HASHED_SPEC);
  t.is((parseEmbedderSpec('hashed:1024') as { dim: number }).dim, 1024);
  t.deepEqual(parseEmbedderSpec('bm25'), { kind: 'bm25', k1: 0.9, b: 0.4 });
  t.deepEqual(parseEmbedderSpec('bm25:1.2,0.75'), { kind: 'bm25', k1: 1.2, b: 0.75 });
  t.deepEqual(parseEmbedderSpec('e5:/models/e5-base-v2'), { kind: 'e5', modelDir: '/models/e5-base-v2' });
  for (const bad of ['hashed:abc', 'hashed:4', 'bm25:1', 'bm25:1,2', 'e5:', 'word2vec']) {
    const error = t.throws(() => parseEmbedderSpec(bad));
    t.true(isRexragError(error, 'ERR_INVALID_ARG'), bad);
  }
});

test.serial('e5 with a folder that is not there is a clear ERR_INVALID_ARG naming it; bm25 is not an embedder', async (t) => {
  const error = await t.throwsAsync(createEmbedder({ kind: 'e5', modelDir: '/nowhere' }));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'));
  t.regex(error!.message, /\/nowhere\/config\.json is missing/);
  const bm25 = await t.throwsAsync(createEmbedder({ kind: 'bm25', k1: 0.9, b: 0.4 }));
  t.regex(bm25!.message, /lexical searcher/);
});

test.serial('registerEmbedder is the seam where another encoder plugs in, and can be undone', async (t) => {
  const calls: string[] = [];
  const unregister = registerEmbedder('e5', async (spec) => {
    calls.push(spec.modelDir);
    const inner = new HashedEmbedder({ ...DEFAULT_HASHED_SPEC, dim: 16 });
    const embedder: DenseEmbedder = { name: 'stand-in', dim: 16, spec, embedQueries: (x) => inner.embedQueries(x), embedPassages: (x) => inner.embedPassages(x) };
    return embedder;
  });
  try {
    const embedder = await createEmbedder(parseEmbedderSpec('e5:/m'));
    t.deepEqual(calls, ['/m']);
    t.is(embedder.dim, 16);
  } finally {
    unregister();
  }
  // Unregistering restores the built-in e5 factory, which reads the (missing) folder.
  await t.throwsAsync(createEmbedder(parseEmbedderSpec('e5:/m')), { message: /\/m\/config\.json is missing/ });
});

test('hashed vectors are deterministic, unit-norm, and the zero vector for text without words', async (t) => {
  const embedder = new HashedEmbedder(DEFAULT_HASHED_SPEC);
  const texts = ['"Paris"\nParis is the capital and most populous city of France.', 'A completely different sentence about rivers.'];
  const [a1, b1] = await embedder.embedPassages(texts);
  const [a2, b2] = await new HashedEmbedder({ ...DEFAULT_HASHED_SPEC }).embedQueries(texts);
  t.deepEqual(a1, a2);
  t.deepEqual(b1, b2);
  t.is(a1!.length, 512);
  t.true(Math.abs(dot(a1!, a1!) - 1) < 1e-5);
  t.true(Math.abs(dot(b1!, b1!) - 1) < 1e-5);
  t.true(dot(a1!, b1!) < 0.5);
  const [empty] = await embedder.embedQueries(['  ,;! ']);
  t.true(empty!.every((x) => x === 0));
  const [other] = await new HashedEmbedder({ ...DEFAULT_HASHED_SPEC, seed: 7 }).embedPassages([texts[0]!]);
  t.notDeepEqual(other, a1, 'the seed changes the hashing');
  t.deepEqual(wordTokens('Évan O\'Neil, 1998!'), ['évan', 'o', 'neil', '1998']);
});

test('a query made of a passage\'s words retrieves that passage first', async (t) => {
  const { rows } = generateCorpus(400, { seed: 11, vocabularySize: 1500 });
  const embedder = new HashedEmbedder(DEFAULT_HASHED_SPEC);
  const passages = await embedder.embedPassages(rows.map((row) => row.contents));
  const random = seededRandom(5);
  let hits = 0;
  const trials = 40;
  for (let trial = 0; trial < trials; trial++) {
    const target = Math.floor(random() * rows.length);
    const words = rows[target]!.contents.split(/\s+/);
    const start = Math.floor(random() * (words.length - 6));
    const [query] = await embedder.embedQueries([words.slice(start, start + 6).join(' ')]);
    let best = -1;
    let bestScore = -Infinity;
    passages.forEach((passage, i) => {
      const score = dot(query!, passage);
      if (score > bestScore) [best, bestScore] = [i, score];
    });
    if (best === target) hits++;
  }
  t.log(`hashed embedder: ${hits}/${trials} six-word queries ranked their own passage first`);
  t.true(hits >= trials - 1, `${hits}/${trials}`);
});

test('bad arguments are named', async (t) => {
  t.throws(() => new HashedEmbedder({ ...DEFAULT_HASHED_SPEC, dim: 3 }), { instanceOf: RangeError, message: /spec\.dim/ });
  t.throws(() => new HashedEmbedder({ ...DEFAULT_HASHED_SPEC, charNgramMax: 2 }), { instanceOf: RangeError, message: /spec\.charNgramMax/ });
  await t.throwsAsync(new HashedEmbedder(DEFAULT_HASHED_SPEC).embedQueries([1 as unknown as string]), { instanceOf: TypeError, message: /texts\[0\]/ });
});
