// Retrieval on a generated corpus: the hashed embedder's throughput (passages/s, queries/s), building the
// hnswlib graph with the index's default parameters, exact search in libtorch (all queries in one batch: its
// queries/s and its share of the machine's matmul peak), and approximate search against it: queries/s, and
// recall@k of the approximate hits (a hit counts when it is one of the exact top k, or ties the exact k-th
// score) at several efSearch values. Everything runs in one fresh rexrag process.
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
import { compared, single } from '../lib/report.js';

interface RetrievalTask {
  passages: number;
  queries: number;
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

    flat.searchVectors(queries.slice(0, 10), task.k);  // warm-up
    start = performance.now();
    const exact = flat.searchVectors(queries, task.k);
    const exactSeconds = seconds(start);
    const exactQps = queries.length / exactSeconds;
    const exactGflops = (2 * task.passages * dim * queries.length) / exactSeconds / 1e9;
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
      sweep.push({ efSearch, qps: queries.length / seconds(start), recall: recallAtK(hits, exact, task.k) });
    }
    return {
      ok: true,
      passagesPerSecond: task.passages / embedPassagesSeconds,
      queriesEmbeddedPerSecond: task.queries / embedQueriesSeconds,
      buildSeconds,
      exactQps,
      exactGflops,
      hnswQps,
      recall: recallAtK(approximate, exact, task.k),
      sourceHitRate: sourceHit,
      sweep,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The exact search's GFLOP/s as a share of the machine's measured matmul peak (target: half of it). */
function flatPeakShare(context: BenchContext, gflops: number | null) {
  const limit = context.limits.matmulGflops;
  if (!limit || gflops === null) return [];
  const share = gflops / limit;
  return [single(`retrieval/${Math.round(context.sizes.retrieval.passages / 1000)}k/flat_search_flops_use`, 'of limit', share, {
    target: { description: '>= 0.5', met: share >= 0.5 },
    note: `${gflops.toFixed(1)} GFLOP/s (2 x passages x dim per query) / ${limit.toFixed(0)} GFLOP/s matmul peak`,
  })];
}

export const retrievalWorkload: Workload = {
  name: 'retrieval',
  description: 'hashed embedder throughput, hnswlib build, exact search in libtorch, HNSW queries/s and recall@3 against it',
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
      single(`retrieval/${tag}/flat_search`, 'queries/s', numberField(rex, 'exactQps'), {
        note: `exact top-${sizes.k} in libtorch, ${sizes.queries} queries in one batch`,
      }),
      ...flatPeakShare(context, numberField(rex, 'exactGflops')),
      compared(`retrieval/${tag}/hnsw_search`, 'queries/s', numberField(rex, 'hnswQps'), numberField(rex, 'exactQps'), 'higher', {
        note: `top-${sizes.k}, one query at a time; baseline the batched exact search`,
      }),
      single(`retrieval/${tag}/recall_at_${sizes.k}`, 'fraction', recall, {
        target: { description: '>= 0.98', met: recall !== null && recall >= 0.98 },
        note: `over ${sizes.queries} queries vs exact search; source passage in top-${sizes.k}: ${numberField(rex, 'sourceHitRate')?.toFixed(3) ?? '-'}`,
      }),
    );
    const exactQps = numberField(rex, 'exactQps');
    for (const point of Array.isArray(rex.sweep) ? (rex.sweep as SweepPoint[]) : []) {
      context.figures.push(
        compared(`retrieval/${tag}/hnsw_search_ef${point.efSearch}`, 'queries/s', point.qps, exactQps, 'higher', {
          note: `efSearch ${point.efSearch} on the same graph`,
        }),
        single(`retrieval/${tag}/recall_at_${sizes.k}_ef${point.efSearch}`, 'fraction', point.recall, {
          target: { description: '>= 0.98', met: point.recall >= 0.98 },
        }),
      );
    }
  },
};
