// Index folders: build -> save -> load round trips (dense HNSW, dense flat, BM25), refusal of half-written or
// damaged folders, resumption after an interrupted build (same bytes as a straight build), and HNSW recall@3
// against exact search.
import { appendFile, mkdir, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { buildIndex, type BuildEvent, type BuildIndexOptions } from '../../lib/retrieval/build.js';
import { DEFAULT_HNSW_PARAMS, FlatVectorSearch, HnswVectorSearch } from '../../lib/retrieval/dense-index.js';
import { HashedEmbedder } from '../../lib/retrieval/hashed-embedder.js';
import { loadIndex } from '../../lib/retrieval/load.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { generateCorpus, removeTemporaryFolders, seededRandom, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';

test.after.always(removeTemporaryFolders);

async function corpusFile(count: number, seed = 1) {
  const folder = await temporaryFolder();
  const corpus = generateCorpus(count, { seed });
  const path = await writeJsonl(folder, 'corpus.jsonl', corpus.rows);
  return { folder, path, ...corpus };
}

test('dense build -> load -> search returns whole rows; a passage\'s own text finds it', async (t) => {
  const { folder, path, rows } = await corpusFile(600, 2);
  rows[7] = { ...rows[7]!, url: 'https://example.org/7', extra: { n: 1 } };
  await writeJsonl(folder, 'corpus.jsonl', rows);
  const events: BuildEvent[] = [];
  const out = join(folder, 'index');
  const summary = await buildIndex({ corpus: path, out, chunkSize: 128, onEvent: (e) => events.push(e) });
  t.is(summary.documents, 600);
  t.is(summary.chunks, 5);
  t.is(summary.kind, 'dense');
  t.deepEqual(events.filter((e) => e.type === 'chunk').map((e) => (e as { documents: number }).documents), [128, 256, 384, 512, 600]);
  t.is(events.filter((e) => e.type === 'graph').at(-1)!.type, 'graph');
  t.deepEqual(events.map((e) => e.type).at(-1), 'done');
  t.false((await readdir(out)).includes('build-state.json'), 'the build state is removed once complete');

  const hnsw = await LocalRetriever.open(out);
  const exact = await LocalRetriever.open(out, { search: 'exact' });
  t.is(hnsw.stats().search, 'hnsw');
  t.is(exact.stats().search, 'flat');
  const queries = [rows[7]!.contents, rows[300]!.contents, rows[599]!.contents.split('\n')[1]!];
  const [a, b] = [await hnsw.search(queries, 3), await exact.search(queries, 3)];
  t.deepEqual(a[0]![0]!.document, rows[7]);
  t.deepEqual(a.map((hits) => hits[0]!.document.id), ['doc-7', 'doc-300', 'doc-599']);
  t.deepEqual(b.map((hits) => hits[0]!.document.id), ['doc-7', 'doc-300', 'doc-599']);
  t.true(Math.abs(a[0]![0]!.score - 1) < 1e-4, 'identical text scores ~1');
  for (let q = 0; q < 3; q++) t.true(Math.abs(a[q]![0]!.score - b[q]![0]!.score) < 1e-4);
  t.is((await exact.search(['anything'], 1000))[0]!.length, 600, 'topk larger than the index gives every row');
  await t.throwsAsync(hnsw.search(['x'], 0), { instanceOf: RangeError, message: /topk/ });
  await hnsw.close();
  await exact.close();
});

test('flat and BM25 indexes round-trip too', async (t) => {
  const { folder, path, rows } = await corpusFile(300, 3);
  const flatOut = join(folder, 'flat');
  await buildIndex({ corpus: path, out: flatOut, ann: 'flat', embedder: 'hashed:128', chunkSize: 100 });
  const flat = await LocalRetriever.open(flatOut);
  t.is(flat.stats().search, 'flat');
  t.is(flat.stats().dim, 128);
  t.is((await flat.search([rows[42]!.contents], 1))[0]![0]!.document.id, 'doc-42');
  await t.throwsAsync(loadIndex(flatOut, { search: 'hnsw' }), { message: /--ann flat/ });
  await flat.close();

  const bm25Out = join(folder, 'bm25');
  const summary = await buildIndex({ corpus: path, out: bm25Out, embedder: 'bm25', chunkSize: 64 });
  t.is(summary.kind, 'bm25');
  t.is(summary.ann, null);
  const bm25 = await LocalRetriever.open(bm25Out);
  const [hits] = await bm25.search([rows[123]!.contents.split('\n')[1]!.split(' ').slice(0, 8).join(' ')], 3);
  t.is(hits![0]!.document.id, 'doc-123');
  t.deepEqual(hits![0]!.document, rows[123]);
  t.is(bm25.stats().kind, 'bm25');
  await bm25.close();
});

test('a half-written or damaged index folder is refused with a clear error', async (t) => {
  const { folder, path } = await corpusFile(200, 4);
  const out = join(folder, 'index');
  await buildIndex({ corpus: path, out, chunkSize: 64 });
  const manifestPath = join(out, 'manifest.json');
  const manifest = await readFile(manifestPath, 'utf8');

  await rm(manifestPath);
  const missing = await t.throwsAsync(loadIndex(out));
  t.true(isRexragError(missing, 'ERR_IO'));
  t.regex(missing!.message, /is not a complete rexrag index: manifest\.json is missing/);
  t.regex(missing!.message, /--resume/);

  await writeFile(manifestPath, manifest.slice(0, manifest.length / 2));
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /manifest\.json is not valid JSON/);

  await writeFile(manifestPath, JSON.stringify({ ...JSON.parse(manifest), formatVersion: 99 }));
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /format version 99/);

  await writeFile(manifestPath, JSON.stringify({ ...JSON.parse(manifest), documents: 'many' }));
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /manifest\.json is invalid:[\s\S]*documents/);

  await writeFile(manifestPath, manifest);
  const vectors = await readFile(join(out, 'vectors.f32'));
  await truncate(join(out, 'vectors.f32'), 1000);
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /vectors\.f32 has 1000 bytes but manifest\.json records/);

  await writeFile(join(out, 'vectors.f32'), vectors);
  await t.notThrowsAsync(loadIndex(out).then((index) => index.close()));
  await rm(join(out, 'hnsw.bin'));
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /hnsw\.bin, listed in manifest\.json, is missing/);
});

async function dataFiles(folder: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(folder)).sort()) {
    if (name !== 'manifest.json') files.set(name, await readFile(join(folder, name)));
  }
  return files;
}

/** Builds, aborting at the first event that `stopAt` accepts; returns the rejection. */
async function interruptedBuild(options: BuildIndexOptions, stopAt: (event: BuildEvent) => boolean): Promise<unknown> {
  const controller = new AbortController();
  try {
    await buildIndex({ ...options, signal: controller.signal, onEvent: (event) => stopAt(event) && controller.abort() });
  } catch (error) {
    return error;
  }
  throw new Error('the build was expected to be interrupted');
}

for (const embedder of ['hashed', 'bm25'] as const) {
  test(`${embedder}: an interrupted build resumes to exactly the index a straight build makes`, async (t) => {
    const { folder, path } = await corpusFile(700, 5);
    const straight = join(folder, 'straight');
    await buildIndex({ corpus: path, out: straight, embedder, chunkSize: 100 });

    const out = join(folder, 'resumed');
    const options: BuildIndexOptions = { corpus: path, out, embedder, chunkSize: 100 };
    const error = await interruptedBuild(options, (e) => e.type === 'chunk' && e.chunk === 2);
    t.is((error as Error).name, 'AbortError');
    t.false((await readdir(out)).includes('manifest.json'));
    t.regex((await t.throwsAsync(loadIndex(out)))!.message, /manifest\.json is missing/);
    t.regex((await t.throwsAsync(buildIndex(options)))!.message, /unfinished build; pass --resume/);
    t.regex((await t.throwsAsync(buildIndex({ ...options, mode: 'resume', chunkSize: 50 })))!.message, /chunk size .* differ/);

    // What a kill -9 in the middle of chunk 3 would leave behind: bytes past the checkpoint.
    await appendFile(join(out, 'documents.jsonl'), '{"id":"torn","conte');
    await appendFile(join(out, 'offsets.bin'), Buffer.alloc(12, 7));
    if (embedder === 'hashed') await appendFile(join(out, 'vectors.f32'), Buffer.alloc(1000, 1));
    else await writeFile(join(out, 'bm25-000003.json'), '{"torn":');

    const events: BuildEvent[] = [];
    const summary = await buildIndex({ ...options, mode: 'resume', onEvent: (e) => events.push(e) });
    t.true(summary.resumed);
    t.is(summary.resumedFromChunk, 3);
    t.deepEqual(events[0], { type: 'start', resumed: true, fromChunk: 3, fromLine: 300, corpusBytes: events[0]!.type === 'start' ? events[0]!.corpusBytes : -1 });
    t.is(events.filter((e) => e.type === 'chunk').length, 4);

    const [a, b] = [await dataFiles(straight), await dataFiles(out)];
    t.deepEqual([...b.keys()], [...a.keys()]);
    for (const [name, bytes] of a) t.true(bytes.equals(b.get(name)!), `${name} differs`);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { documents: number; files: Record<string, number> };
    t.is(manifest.documents, 700);

    const again = await buildIndex({ ...options, mode: 'resume' });
    t.true(again.alreadyComplete, 'resuming a complete index does nothing');
    t.is(again.documents, 700);
    await appendFile(path, `${JSON.stringify({ id: 'late', contents: 'x' })}\n`);
    t.regex((await t.throwsAsync(buildIndex({ ...options, mode: 'resume' })))!.message, /earlier version of .*--restart/);
  });
}

test('an interruption while the HNSW graph is built resumes from the stored vectors', async (t) => {
  const { folder, path } = await corpusFile(400, 6);
  const straight = join(folder, 'straight');
  await buildIndex({ corpus: path, out: straight, chunkSize: 100 });
  const out = join(folder, 'resumed');
  const options: BuildIndexOptions = { corpus: path, out, chunkSize: 100 };
  await interruptedBuild(options, (e) => e.type === 'graph' && e.added === 200);
  const state = JSON.parse(await readFile(join(out, 'build-state.json'), 'utf8')) as { phase: string; documents: number };
  t.is(state.phase, 'graph');
  t.is(state.documents, 400);
  const events: BuildEvent[] = [];
  await buildIndex({ ...options, mode: 'resume', onEvent: (e) => events.push(e) });
  t.is(events.filter((e) => e.type === 'chunk').length, 0, 'no chunk is read again');
  t.true((await readFile(join(out, 'hnsw.bin'))).equals(await readFile(join(straight, 'hnsw.bin'))));
});

test('--restart rebuilds from scratch; a new build refuses an existing index; e5 fails before touching the folder', async (t) => {
  const { folder, path } = await corpusFile(150, 7);
  const out = join(folder, 'index');
  await buildIndex({ corpus: path, out, chunkSize: 50 });
  await writeFile(join(out, 'notes.txt'), 'mine');
  const refused = await t.throwsAsync(buildIndex({ corpus: path, out }));
  t.true(isRexragError(refused, 'ERR_INVALID_ARG'));
  t.regex(refused!.message, /already holds an index; pass --resume .* or --restart/);
  const e5 = await t.throwsAsync(buildIndex({ corpus: path, out, embedder: 'e5:/models/e5', mode: 'restart' }));
  t.regex(e5!.message, /\/models\/e5\/config\.json is missing/);
  t.truthy(await loadIndex(out).then((index) => index.close().then(() => true)), 'the old index is untouched');
  const rebuilt = await buildIndex({ corpus: path, out, mode: 'restart', embedder: 'bm25', chunkSize: 50 });
  t.is(rebuilt.kind, 'bm25');
  const names = await readdir(out);
  t.false(names.includes('vectors.f32'));
  t.true(names.includes('notes.txt'), 'files that are not the index\'s are left alone');
  const malformed = await writeJsonl(folder, 'bad.jsonl', [{ id: 'a', contents: 'x' }, 'oops']);
  const failed = await t.throwsAsync(buildIndex({ corpus: malformed, out: join(folder, 'bad') }));
  t.regex(failed!.message, /bad\.jsonl line 2: invalid JSON/);
  const skipped = await buildIndex({ corpus: malformed, out: join(folder, 'skip'), onMalformed: 'skip' });
  t.is(skipped.skippedLines, 1);
  t.is(skipped.documents, 1);
});

test('HNSW recall@3 against exact search on 3000 generated passages', async (t) => {
  const { rows, words } = generateCorpus(3000, { seed: 8, vocabularySize: 3000, wordsPerPassage: 40 });
  const folder = await temporaryFolder();
  const path = await writeJsonl(folder, 'corpus.jsonl', rows);
  const out = join(folder, 'index');
  const started = performance.now();
  await buildIndex({ corpus: path, out, chunkSize: 1000 });
  const buildSeconds = (performance.now() - started) / 1000;
  const index = await loadIndex(out);
  const embedder = new HashedEmbedder(index.manifest.embedder as ConstructorParameters<typeof HashedEmbedder>[0]);
  const exact = await FlatVectorSearch.load(join(out, 'vectors.f32'), 3000, embedder.dim);
  const graph = HnswVectorSearch.load(join(out, 'hnsw.bin'), 3000, embedder.dim, index.manifest.dense!.hnsw!.efSearch);
  const random = seededRandom(9);
  const queries = Array.from({ length: 300 }, (_, i) => {
    if (i % 2 === 0) return Array.from({ length: 4 }, () => words[Math.floor(random() * words.length)]).join(' ');
    const passage = rows[Math.floor(random() * rows.length)]!.contents.split(/\s+/);
    const start = Math.floor(random() * (passage.length - 5));
    return passage.slice(start, start + 5).join(' ');
  });
  const vectors = await embedder.embedQueries(queries);
  const [truth, approx] = [exact.searchVectors(vectors, 3), graph.searchVectors(vectors, 3)];
  let found = 0;
  truth.forEach((expected, q) => {
    const ids = new Set(expected.map((hit) => hit.index));
    const kth = expected.at(-1)!.score;
    // A hit counts when it is in the exact top 3, or ties the exact 3rd score (equal-score rows are interchangeable).
    for (const hit of approx[q]!) if (ids.has(hit.index) || hit.score >= kth - 1e-6) found++;
  });
  const recall = found / (3 * queries.length);
  t.log(`HNSW (M=32, efConstruction=200, efSearch=${DEFAULT_HNSW_PARAMS.efSearch}) recall@3 = ${recall.toFixed(4)} over ${queries.length} queries; build ${buildSeconds.toFixed(2)} s`);
  t.true(recall > 0.95, `recall@3 ${recall}`);
  await index.close();
});

test('a manifest whose dim was tampered with is refused (the vectors and the HNSW graph say otherwise)', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(40, { seed: 21 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const out = join(folder, 'index');
  await buildIndex({ corpus, out, embedder: 'hashed:64', chunkSize: 16 });
  const manifestPath = join(out, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  // Both dims edited together, so the embedder and the manifest agree with each other but not with the data.
  await writeFile(manifestPath, JSON.stringify({ ...manifest, embedder: { ...manifest.embedder, dim: 32 }, dense: { ...manifest.dense, dim: 32 } }));
  const error = await t.throwsAsync(loadIndex(out));
  t.true(isRexragError(error, 'ERR_IO'));
  t.regex(error!.message, /vectors\.f32 holds 10240 bytes, not 40 documents x 32 dims x 4 = 5120/);
  // hnswlib trusts the dim it is given; the graph's own header tells the truth.
  const viaGraph = t.throws(() => HnswVectorSearch.load(join(out, 'hnsw.bin'), 40, 32, 16));
  t.regex(viaGraph!.message, /HNSW graph .*hnsw\.bin holds 40 vectors of 64 dims, but the manifest expects 40 of 32 dims/);
  t.regex(t.throws(() => HnswVectorSearch.load(join(out, 'hnsw.bin'), 80, 64, 16))!.message, /holds 40 vectors/);
  await writeFile(manifestPath, JSON.stringify({ ...manifest, dense: { ...manifest.dense, dim: 32 } }));
  t.regex((await t.throwsAsync(loadIndex(out)))!.message, /the embedder has 64 dims but dense\.dim is 32/);
  await writeFile(manifestPath, JSON.stringify(manifest));
  const index = await loadIndex(out);
  t.is(index.manifest.dense!.dim, 64);
  await index.close();
});

test('index --resume into a folder that is not an index (nor an unfinished build) is refused and left untouched', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(20, { seed: 22 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const home = join(folder, 'someones-files');
  await mkdir(home);
  await writeFile(join(home, 'notes.txt'), 'keep me');
  const error = await t.throwsAsync(buildIndex({ corpus, out: home, mode: 'resume', ann: 'flat' }));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'));
  t.regex(error!.message, /cannot resume: .*someones-files is not an index or an unfinished build \(it holds "notes\.txt"\)/);
  t.deepEqual(await readdir(home), ['notes.txt']);
  // An empty (or missing) folder, or one holding only a build's own files (killed before its first checkpoint), starts afresh.
  const fresh = await buildIndex({ corpus, out: join(folder, 'new'), mode: 'resume', ann: 'flat' });
  t.is(fresh.documents, 20);
  const early = join(folder, 'early');
  await mkdir(early);
  await writeFile(join(early, 'documents.jsonl'), '{"id":"x"');
  await writeFile(join(early, '.manifest.json.tmp-123-0a1b2c3d'), '{');
  t.is((await buildIndex({ corpus, out: early, mode: 'resume', ann: 'flat' })).documents, 20);
});

test('duplicate corpus ids fail the build (naming them) or, with onMalformed skip, are kept and reported', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(30, { seed: 23 });
  rows[12] = { ...rows[12]!, id: rows[3]!.id };
  rows[20] = { ...rows[20]!, id: rows[3]!.id };
  rows[25] = { ...rows[25]!, id: rows[7]!.id };
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const failed = await t.throwsAsync(buildIndex({ corpus, out: join(folder, 'a'), embedder: 'bm25', chunkSize: 8 }));
  t.true(isRexragError(failed, 'ERR_INVALID_ARG'));
  t.regex(failed!.message, /3 passages repeat an earlier id: "doc-3" \(passages 4, 13 and 21\), "doc-7" \(passages 8 and 26\); corpus ids must be unique/);
  const resumed = await t.throwsAsync(buildIndex({ corpus, out: join(folder, 'a'), embedder: 'bm25', chunkSize: 8, mode: 'resume' }));
  t.regex(resumed!.message, /repeat an earlier id/, 'a resumed build checks again');

  const events: BuildEvent[] = [];
  const kept = await buildIndex({ corpus, out: join(folder, 'b'), embedder: 'bm25', chunkSize: 8, onMalformed: 'skip', onEvent: (e) => events.push(e) });
  t.is(kept.documents, 30);
  t.is(kept.duplicatePassages, 3);
  const reported = events.find((e) => e.type === 'duplicates') as Extract<BuildEvent, { type: 'duplicates' }> | undefined;
  t.deepEqual(reported?.report.examples, [{ id: 'doc-3', passages: [4, 13, 21] }, { id: 'doc-7', passages: [8, 26] }]);
  t.is((await buildIndex({ corpus, out: join(folder, 'b'), embedder: 'bm25', chunkSize: 8, onMalformed: 'skip', mode: 'resume' })).duplicatePassages, 3, 'kept in the manifest');
  const unique = await buildIndex({ corpus: await writeJsonl(folder, 'unique.jsonl', generateCorpus(30, { seed: 23 }).rows), out: join(folder, 'c'), embedder: 'bm25' });
  t.is(unique.duplicatePassages, 0);
});
