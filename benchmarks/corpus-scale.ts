// The corpus path at scale: generates an N-passage corpus (default 1M) in blocks, builds a sharded index with
// `rexrag index` in a child process (time, passages/s, peak resident memory), measures the index files, then
// serves it with `rexrag serve` and queries it from 8 concurrent clients (latency p50/p99, queries/s).
// Run: nice -n 10 node dist/benchmarks/corpus-scale.js [--passages N] [--shards S] [--dir DIR] ...
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { generateCorpus } from './lib/corpus.js';
import { REPO_ROOT } from './lib/child.js';
import { commitInfo, machineInfo } from './lib/machine.js';

const CLI = join(REPO_ROOT, 'bin', 'rexrag.js');
const BLOCK = 100_000;

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '1000000' },
    shards: { type: 'string', default: '4' },
    dir: { type: 'string', default: '/tmp/rexrag-corpus-scale' },
    'hnsw-m': { type: 'string', default: '32' },
    'ef-construction': { type: 'string', default: '200' },
    clients: { type: 'string', default: '8' },
    queries: { type: 'string', default: '2000' },
    out: { type: 'string' },
  },
});
const passages = Number(values.passages);
const shards = Number(values.shards);
const dir = values.dir!;
const clients = Number(values.clients);
const queryCount = Number(values.queries);

/** Peak and current resident memory of a running process, from /proc (0 once it has exited). */
function procMemory(pid: number): { hwm: number; rss: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { hwm: field('VmHWM'), rss: field('VmRSS') };
  } catch {
    return { hwm: 0, rss: 0 };
  }
}

/** Writes the corpus in blocks of 100k generated passages (ids are global row numbers); returns 2000 queries. */
async function writeCorpus(path: string): Promise<string[]> {
  const queries = generateCorpus(2_000, queryCount, 9001).queries;
  if (existsSync(path)) return queries;
  const stream = createWriteStream(path);
  for (let first = 0; first < passages; first += BLOCK) {
    const block = generateCorpus(Math.min(BLOCK, passages - first), 0, 7000 + first / BLOCK);
    const text = block.passages.map((contents, i) => JSON.stringify({ id: String(first + i), contents })).join('\n');
    if (!stream.write(`${text}\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    process.stderr.write(`corpus: ${first + block.passages.length} passages\n`);
  }
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return queries;
}

/** Runs `rexrag index` in a child process, sampling its peak resident memory; returns its JSON summary. */
async function buildIndex(corpus: string, out: string): Promise<{ summary: Record<string, unknown>; peakRss: number; seconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'index', '--corpus', corpus, '--out', out, '--restart', '--shards', String(shards),
    '--hnsw-m', values['hnsw-m']!, '--ef-construction', values['ef-construction']!], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  let peakRss = 0;
  const timer = setInterval(() => (peakRss = Math.max(peakRss, procMemory(child.pid!).hwm)), 500);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`rexrag index exited with ${code}`);
  return { summary: JSON.parse(stdout) as Record<string, unknown>, peakRss, seconds: (performance.now() - started) / 1000 };
}

/** Serves the index, measures the server's memory, and runs `clients` concurrent clients over the queries. */
interface ServeFigures { loadSeconds: number; serverRssLoaded: number; serverRssAfter: number; serverPeakRss: number; p50Ms: number; p99Ms: number; queriesPerSecond: number; queries: number }

async function serveAndQuery(index: string, queries: string[]): Promise<ServeFigures> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--index', index, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+) /.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.on('close', (code) => reject(new Error(`rexrag serve exited with ${code}: ${stderr}`)));
  });
  const loadSeconds = (performance.now() - started) / 1000;
  const loaded = procMemory(child.pid!);
  const latencies: number[] = [];
  let next = 0;
  const queryStarted = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < queries.length) {
      const query = queries[next++]!;
      const t0 = performance.now();
      const response = await fetch(`${url}/retrieve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queries: [query], topk: 3, return_scores: true }) });
      if (!response.ok) throw new Error(`retrieve answered ${response.status}`);
      await response.json();
      latencies.push(performance.now() - t0);
    }
  }));
  const wall = (performance.now() - queryStarted) / 1000;
  const after = procMemory(child.pid!);
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('close', resolve));
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { loadSeconds, serverRssLoaded: loaded.rss, serverRssAfter: after.rss, serverPeakRss: after.hwm, p50Ms: pct(0.5), p99Ms: pct(0.99), queriesPerSecond: latencies.length / wall, queries: latencies.length };
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const corpus = join(dir, 'corpus.jsonl');
  const index = join(dir, 'index');
  const generateStarted = performance.now();
  const queries = await writeCorpus(corpus);
  const generateSeconds = (performance.now() - generateStarted) / 1000;
  const build = await buildIndex(corpus, index);
  const files: Record<string, number> = {};
  for (const name of await readdir(index)) files[name] = (await stat(join(index, name))).size;
  const graphBytes = Object.entries(files).filter(([name]) => name.startsWith('hnsw')).reduce((sum, [, bytes]) => sum + bytes, 0);
  const serve = await serveAndQuery(index, queries);
  const result = {
    benchmark: 'corpus-scale', date: new Date().toISOString(), machine: machineInfo(), commit: commitInfo(),
    config: { passages, shards, hnswM: Number(values['hnsw-m']), efConstruction: Number(values['ef-construction']), embedder: 'hashed-512', clients, queries: queryCount },
    corpusBytes: (await stat(corpus)).size, generateSeconds,
    build: { seconds: build.seconds, summary: build.summary, peakRssBytes: build.peakRss, peakRssBytesPerPassage: build.peakRss / passages },
    index: { files, bytesPerPassage: Object.values(files).reduce((a, b) => a + b, 0) / passages, vectorsBytesPerPassage: (files['vectors.f32'] ?? 0) / passages, graphBytesPerPassage: graphBytes / passages },
    serve: { ...serve, rssBytesPerPassage: serve.serverRssLoaded / passages },
  };
  const out = values.out ?? join(REPO_ROOT, 'benchmarks', 'results', `corpus-scale-${result.date.slice(0, 10)}.json`);
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  const s = build.summary as { ingestSeconds: number; graphSeconds: number; passagesPerSecond: number };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
  process.stdout.write([
    `| figure | value |`, `|---|---|`,
    `| passages, shards | ${passages}, ${shards} (M ${values['hnsw-m']}, efConstruction ${values['ef-construction']}) |`,
    `| build wall time | ${build.seconds.toFixed(0)} s (ingest ${s.ingestSeconds.toFixed(0)} s at ${s.passagesPerSecond.toFixed(0)} passages/s, HNSW ${s.graphSeconds.toFixed(0)} s) |`,
    `| build peak RSS | ${mib(build.peakRss)} (${(build.peakRss / passages).toFixed(0)} B/passage) |`,
    `| index bytes / passage | ${result.index.bytesPerPassage.toFixed(0)} (vectors ${result.index.vectorsBytesPerPassage.toFixed(0)}, graphs ${result.index.graphBytesPerPassage.toFixed(0)}) |`,
    `| server RSS loaded | ${mib(serve.serverRssLoaded)} (${result.serve.rssBytesPerPassage.toFixed(0)} B/passage), load ${serve.loadSeconds.toFixed(1)} s |`,
    `| query latency, ${clients} clients | p50 ${serve.p50Ms.toFixed(1)} ms, p99 ${serve.p99Ms.toFixed(1)} ms, ${serve.queriesPerSecond.toFixed(0)} queries/s |`,
    `written to ${out}`, '',
  ].join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`corpus-scale: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
