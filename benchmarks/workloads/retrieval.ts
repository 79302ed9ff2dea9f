// Retrieval on a generated corpus: the hashed embedder's throughput (passages/s, queries/s), building the
// hnswlib graph with the index's default parameters, and approximate search against exact search over the same
// vectors: queries/s of each, and recall@k of the approximate hits (a hit counts when it is one of the exact
// top k, or ties the exact k-th score). Everything runs in one fresh rexrag process; the baseline is exact search.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildHnswGraph, FlatVectorSearch, HnswVectorSearch, type HnswParams } from '../../lib/retrieval/dense-index.js';
import type { HashedEmbedderSpec } from '../../lib/retrieval/embedder.js';
import { HashedEmbedder } from '../../lib/retrieval/hashed-embedder.js';
import type { ScoredIndex } from '../../lib/retrieval/top-k.js';
import { runRexragChild } from '../lib/child.js';
import { numberField, type BenchContext, type Workload } from '../lib/context.js';
import { generateCorpus } from '../lib/corpus.js';
import { compared, ratioAtLeast, single } from '../lib/report.js';

interface RetrievalTask {
  passages: number;
  queries: number;
  exactQueries: number;
  k: number;
  embedder: HashedEmbedderSpec;
  hnsw: HnswParams;
  /** Further search beam widths measured on the same graph, for the recall / speed trade-off. */
  efSearchSweep: number[];
}

interface SweepPoint {
  efSearch: number;
  qps: number;
  recall: number;
}

/** Share of approximate hits that are exact top-k hits (or tie the exact k-th score), averaged over queries. */
export function recallAtK(approximate: ScoredIndex[][], exact: ScoredIndex[][], k: number): number {
  let found = 0;
  exact.forEach((truth, q) => {
    const ids = new Set(truth.map((hit) => hit.index));
    const kth = truth[truth.length - 1]?.score ?? Infinity;
    found += approximate[q]!.slice(0, k).filter((hit) => ids.has(hit.index) || hit.score >= kth - 1e-6).length;
  });
  return found / (exact.length * k);
}

async function embedAll(embed: (texts: string[]) => Promise<Float32Array[]>, texts: string[], dim: number): Promise<Float32Array> {
  const out = new Float32Array(texts.length * dim);
  const batch = 1000;
  for (let first = 0; first < texts.length; first += batch) {
    const vectors = await embed(texts.slice(first, first + batch));
    vectors.forEach((vector, i) => out.set(vector, (first + i) * dim));
  }
  return out;
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

/** Worker side: the whole retrieval measurement in this process. */
export async function measureRetrieval(task: RetrievalTask): Promise<Record<string, unknown>> {
  const corpus = generateCorpus(task.passages, task.queries, 501);
  const embedder = new HashedEmbedder(task.embedder);
  const dim = embedder.dim;
  let start = performance.now();
  const passageVectors = await embedAll((texts) => embedder.embedPassages(texts), corpus.passages, dim);
  const embedPassagesSeconds = seconds(start);
  start = performance.now();
  const queryFlat = await embedAll((texts) => embedder.embedQueries(texts), corpus.queries, dim);
  const embedQueriesSeconds = seconds(start);
  const queries = Array.from({ length: task.queries }, (_, q) => queryFlat.subarray(q * dim, (q + 1) * dim));

  const folder = await mkdtemp(join(tmpdir(), 'rexrag-bench-retrieval-'));
  try {
    const vectorsPath = join(folder, 'vectors.f32');
    await writeFile(vectorsPath, new Uint8Array(passageVectors.buffer));
    start = performance.now();
    const graph = await buildHnswGraph(vectorsPath, task.passages, dim, task.hnsw);
    const buildSeconds = seconds(start);
    const hnsw = HnswVectorSearch.fromGraph(graph, task.hnsw.efSearch);
    const flat = new FlatVectorSearch(passageVectors, dim);

    const exactSet = queries.slice(0, task.exactQueries);
    start = performance.now();
    const exact = flat.searchVectors(exactSet, task.k);
    const exactQps = exactSet.length / seconds(start);
    hnsw.searchVectors(queries.slice(0, 10), task.k);  // warm-up
    start = performance.now();
    const approximate = hnsw.searchVectors(queries, task.k);
    const hnswQps = queries.length / seconds(start);
    const sourceHit = approximate.filter((hits, q) => hits.some((hit) => hit.index === corpus.sources[q])).length / queries.length;
    const sweep: SweepPoint[] = [];
    for (const efSearch of task.efSearchSweep) {
      hnsw.setEfSearch(efSearch);
      start = performance.now();
      const hits = hnsw.searchVectors(queries, task.k);
      sweep.push({ efSearch, qps: queries.length / seconds(start), recall: recallAtK(hits.slice(0, task.exactQueries), exact, task.k) });
    }
    return {
      ok: true,
      passagesPerSecond: task.passages / embedPassagesSeconds,
      queriesEmbeddedPerSecond: task.queries / embedQueriesSeconds,
      buildSeconds,
      exactQps,
      hnswQps,
      recall: recallAtK(approximate.slice(0, task.exactQueries), exact, task.k),
      sourceHitRate: sourceHit,
      sweep,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

export const retrievalWorkload: Workload = {
  name: 'retrieval',
  description: 'hashed embedder throughput, hnswlib build, queries/s and recall@3 against exact search',
  async run(context: BenchContext) {
    const sizes = context.sizes.retrieval;
    const tag = `${Math.round(sizes.passages / 1000)}k`;
    context.log(`retrieval: ${sizes.passages} generated passages, ${sizes.queries} queries`);
    const rex = await runRexragChild({ workload: 'retrieval', ...sizes }, context.sizes.threads);
    if (!rex.ok) context.notes.push(`retrieval: ${rex.error}`);
    const params = `M ${sizes.hnsw.M}, efConstruction ${sizes.hnsw.efConstruction}, efSearch ${sizes.hnsw.efSearch}`;
    const recall = numberField(rex, 'recall');
    context.figures.push(
      single(`retrieval/${tag}/embed_passages`, 'passages/s', numberField(rex, 'passagesPerSecond'), { note: `hashed-${sizes.embedder.dim}, 1 thread` }),
      single(`retrieval/${tag}/embed_queries`, 'queries/s', numberField(rex, 'queriesEmbeddedPerSecond')),
      single(`retrieval/${tag}/hnsw_build`, 's', numberField(rex, 'buildSeconds'), { note: params }),
      compared(`retrieval/${tag}/hnsw_search`, 'queries/s', numberField(rex, 'hnswQps'), numberField(rex, 'exactQps'), 'higher', {
        target: ratioAtLeast(20),
        note: `top-${sizes.k}; baseline exact inner-product search over all vectors`,
      }),
      single(`retrieval/${tag}/recall_at_${sizes.k}`, 'fraction', recall, {
        target: { description: '>= 0.98', met: recall !== null && recall >= 0.98 },
        note: `over ${sizes.exactQueries} queries vs exact search; source passage in top-${sizes.k}: ${numberField(rex, 'sourceHitRate')?.toFixed(3) ?? '-'}`,
      }),
    );
    const exactQps = numberField(rex, 'exactQps');
    for (const point of Array.isArray(rex.sweep) ? (rex.sweep as SweepPoint[]) : []) {
      context.figures.push(
        compared(`retrieval/${tag}/hnsw_search_ef${point.efSearch}`, 'queries/s', point.qps, exactQps, 'higher', {
          target: ratioAtLeast(20),
          note: `efSearch ${point.efSearch} on the same graph`,
        }),
        single(`retrieval/${tag}/recall_at_${sizes.k}_ef${point.efSearch}`, 'fraction', point.recall, {
          target: { description: '>= 0.98', met: point.recall >= 0.98 },
        }),
      );
    }
  },
};
