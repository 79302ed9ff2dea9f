// Builds an index folder from a JSONL corpus, chunk by chunk: rows into the document store, then dense vectors
// (vectors.f32, then an HNSW graph) or BM25 segments. After each chunk the data files are synced and
// build-state.json is rewritten, so a killed build resumes from the last completed chunk; manifest.json is
// written last, so an unfinished folder never loads. Progress is reported through events, never printed.
import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { RexragError } from '../errors.js';
import { expectInteger, expectObject, expectString } from '../validate.js';
import { renameDurably, temporarySibling, writeFileAtomic } from '../util/atomic-file.js';
import { bm25SegmentFile, buildBm25Segment, serialiseBm25Segment } from './bm25.js';
import { BUILD_STATE_FILE, readBuildState, writeBuildState, type BuildState } from './build-state.js';
import { DEFAULT_MAX_LINE_BYTES, readCorpusBatches, statCorpus, type MalformedLine, type MalformedPolicy } from './corpus.js';
import { buildHnswGraph, checkHnswParams, DEFAULT_HNSW_PARAMS, HNSW_FILE, VECTORS_FILE, type HnswParams } from './dense-index.js';
import { DOCUMENTS_FILE, DocumentStoreWriter, OFFSETS_FILE, writeFully } from './doc-store.js';
import { describeDuplicates, findDuplicateIds, type DuplicateIdReport } from './duplicate-ids.js';
import { embedderLabel, parseEmbedderSpec, type DenseEmbedder, type EmbedderSpec } from './embedder.js';
import { createEmbedder } from './embedder-registry.js';
import { MANIFEST_FILE, readManifest, specKey, writeManifest, type IndexManifest } from './manifest.js';
import { hnswShardFile, shardRanges } from './shards.js';
import { makeFolder } from '../util/make-folder.js';

/** 'new' refuses a folder that holds an index or an unfinished build; 'resume' continues one; 'restart' wipes it. */
export type BuildMode = 'new' | 'resume' | 'restart';

export interface BuildIndexOptions {
  /** The corpus JSONL file. */
  corpus: string;
  /** The index folder (created when missing). */
  out: string;
  /** A spec or a CLI string (`hashed`, `hashed:DIM`, `bm25`, `bm25:K1,B`, `e5:DIR`). Default: hashed, 512 dims. */
  embedder?: EmbedderSpec | string;
  mode?: BuildMode;
  /** Documents per chunk (the unit of progress and of resumption). Default 4096. */
  chunkSize?: number;
  /** What to do with a malformed corpus line. Default 'fail'. */
  onMalformed?: MalformedPolicy;
  /** A corpus line longer than this many bytes is malformed (never read whole). Default 8 MiB. */
  maxLineBytes?: number;
  /** Dense indexes only: 'hnsw' (default) also builds an HNSW graph; 'flat' keeps exact search only. */
  ann?: 'hnsw' | 'flat';
  hnsw?: Partial<HnswParams>;
  /**
   * Dense indexes: split the passages into this many contiguous ranges, each with its own HNSW graph, built one
   * at a time (so building needs one shard's graph in memory) and searched together. Default 1.
   */
  shards?: number;
  onEvent?: (event: BuildEvent) => void;
  /** Aborting stops the build at the next chunk boundary (after its checkpoint); the build can then resume. */
  signal?: AbortSignal;
}

export type BuildEvent =
  | { type: 'start'; resumed: boolean; fromChunk: number; fromLine: number; corpusBytes: number }
  | ({ type: 'malformed' } & MalformedLine)
  | { type: 'chunk'; chunk: number; documents: number; lastLine: number; skippedLines: number; bytesRead: number; corpusBytes: number; passagesPerSecond: number }
  | { type: 'duplicates'; report: DuplicateIdReport }
  | { type: 'graph'; added: number; total: number; shard: number; shards: number }
  | { type: 'done'; summary: BuildSummary };

export interface BuildSummary {
  out: string;
  kind: 'dense' | 'bm25';
  embedder: EmbedderSpec;
  embedderName: string;
  documents: number;
  lines: number;
  skippedLines: number;
  /** Passages whose id an earlier passage already has (kept and reported under onMalformed 'skip'). */
  duplicatePassages: number;
  chunks: number;
  ann: 'hnsw' | 'flat' | null;
  /** Passage-range shards of a dense index (1 for BM25 and unsharded indexes). */
  shards: number;
  /** Ingest (read, store, embed) and HNSW time of this run, and its ingest throughput. */
  ingestSeconds: number;
  graphSeconds: number;
  passagesPerSecond: number;
  /** True when the build continued from a checkpoint; `resumedFromChunk` says which chunk it started at. */
  resumed: boolean;
  resumedFromChunk: number;
  /** True when `mode: 'resume'` found the index already complete and did nothing. */
  alreadyComplete: boolean;
  seconds: number;
}

/**
 * Builds (or resumes, or restarts) the index `options.out` from `options.corpus`. See the file comment for
 * the crash-safety rules. Resuming requires the same corpus file (path, size, mtime), embedder and parameters.
 */
export async function buildIndex(options: BuildIndexOptions): Promise<BuildSummary> {
  expectObject(options, 'options');
  const corpus = resolve(expectString(options.corpus, 'options.corpus', { nonEmpty: true }));
  const out = resolve(expectString(options.out, 'options.out', { nonEmpty: true }));
  const mode = options.mode ?? 'new';
  if (mode !== 'new' && mode !== 'resume' && mode !== 'restart') throw new RangeError(`options.mode must be 'new', 'resume' or 'restart', got ${String(mode)}`);
  const chunkSize = options.chunkSize === undefined ? 4096 : expectInteger(options.chunkSize, 'options.chunkSize', { min: 1, max: 10_000_000 });
  const onMalformed = options.onMalformed ?? 'fail';
  if (onMalformed !== 'skip' && onMalformed !== 'fail') throw new RangeError(`options.onMalformed must be 'skip' or 'fail', got ${String(onMalformed)}`);
  const maxLineBytes = options.maxLineBytes === undefined ? DEFAULT_MAX_LINE_BYTES : expectInteger(options.maxLineBytes, 'options.maxLineBytes', { min: 1 });
  const ann = options.ann ?? 'hnsw';
  if (ann !== 'hnsw' && ann !== 'flat') throw new RangeError(`options.ann must be 'hnsw' or 'flat', got ${String(ann)}`);
  const hnsw = checkHnswParams({ ...DEFAULT_HNSW_PARAMS, ...(options.hnsw ?? {}) });
  const shards = options.shards === undefined ? 1 : expectInteger(options.shards, 'options.shards', { min: 1, max: 4096 });
  const spec = typeof options.embedder === 'string' ? parseEmbedderSpec(options.embedder)
    : options.embedder === undefined ? parseEmbedderSpec('hashed') : options.embedder;
  if (spec.kind === 'bm25' && shards > 1) throw new RexragError('--shards applies to dense indexes; a BM25 index is already split into segments', 'ERR_INVALID_ARG');
  const emit = options.onEvent ?? (() => {});
  const started = performance.now();

  const corpusInfo = await statCorpus(corpus);
  // Create the embedder before touching the folder, so an unavailable one (a bad e5 folder) changes nothing.
  const embedder = spec.kind === 'bm25' ? undefined : await createEmbedder(spec);
  await makeFolder(out);

  const wanted: BuildState = {
    format: 'rexrag-build-state', version: 1,
    corpus: { path: corpus, bytes: corpusInfo.bytes, mtimeMs: corpusInfo.mtimeMs },
    embedder: spec, chunkSize, onMalformed, ann, hnsw, ...(shards > 1 ? { shards } : {}),
    chunks: 0, lastLine: 0, skippedLines: 0, documents: 0, documentsBytes: 0, vectorsBytes: 0, phase: 'ingest',
  };
  let state: BuildState | undefined;
  if (mode === 'restart') {
    await clearIndexFolder(out);
  } else {
    const hasManifest = await exists(join(out, MANIFEST_FILE));
    const saved = await readBuildState(out);
    if (mode === 'new' && (hasManifest || saved)) {
      throw new RexragError(`${out} already holds ${hasManifest ? 'an index' : 'an unfinished build'}; pass --resume to ${hasManifest ? 'keep it' : 'continue it'} or --restart to rebuild it`, 'ERR_INVALID_ARG');
    }
    if (hasManifest) return completeSummary(out, corpus, corpusInfo.bytes, spec, started);
    if (mode === 'resume' && !saved) {
      // Only a folder holding nothing but an index build's own files (or nothing) may be started over here.
      const foreign = (await readdir(out)).filter((name) => !isIndexFile(name));
      if (foreign.length > 0) {
        throw new RexragError(`cannot resume: ${out} is not an index or an unfinished build (it holds ${foreign.slice(0, 3).map((name) => JSON.stringify(name)).join(', ')}${foreign.length > 3 ? ', ...' : ''}); give --out a new or empty folder`, 'ERR_INVALID_ARG');
      }
    }
    if (saved) {
      const differences = compareStates(saved, wanted);
      if (differences.length > 0) {
        throw new RexragError(`cannot resume the build in ${out}: ${differences.join('; ')} differ from the interrupted build; use --restart to rebuild`, 'ERR_INVALID_ARG');
      }
      state = saved;
    } else {
      await clearIndexFolder(out);
    }
  }

  let current: BuildState = state ?? wanted;
  emit({ type: 'start', resumed: state !== undefined, fromChunk: current.chunks, fromLine: current.lastLine, corpusBytes: corpusInfo.bytes });
  const documentsBefore = current.documents;
  if (current.phase === 'ingest') current = await ingest(out, current, embedder, emit, options.signal, maxLineBytes);
  const ingestSeconds = (performance.now() - started) / 1000;
  if (current.documents === 0) {
    await clearIndexFolder(out);
    throw new RexragError(`${corpus} holds no valid documents`, 'ERR_INVALID_ARG');
  }
  // Checked on every run that reaches this point (a resumed one too), so a build with duplicates never completes
  // under 'fail'.
  const duplicates = await findDuplicateIds(out, current.documents);
  if (duplicates.duplicatePassages > 0) {
    if (current.onMalformed === 'fail') {
      throw new RexragError(`${corpus}: ${describeDuplicates(duplicates)}; corpus ids must be unique (--on-malformed skip keeps such passages and reports them)`, 'ERR_INVALID_ARG');
    }
    emit({ type: 'duplicates', report: duplicates });
  }

  const ranges = embedder ? shardRanges(current.documents, shards) : [];
  const graphFiles = ann !== 'hnsw' ? [] : shards === 1 ? [HNSW_FILE] : ranges.map((_, s) => hnswShardFile(s));
  if (embedder) {
    for (const [s, name] of graphFiles.entries()) {
      // A shard graph already renamed into place by an interrupted run of the same build is complete.
      if (shards > 1 && await exists(join(out, name))) continue;
      const range = ranges[s]!;
      const graph = await buildHnswGraph(join(out, VECTORS_FILE), range.count, embedder.dim, hnsw, {
        chunkRows: chunkSize,
        firstRow: range.first,
        signal: options.signal,
        onProgress: (added) => emit({ type: 'graph', added: range.first + added, total: current.documents, shard: s, shards }),
      });
      const temporary = temporarySibling(join(out, name));
      graph.writeIndexSync(temporary);
      await syncFile(temporary);
      await renameDurably(temporary, join(out, name));
      graph.initIndex({ maxElements: 1 }); // frees this shard's graph now, not whenever the GC gets to it
    }
  }
  const graphSeconds = (performance.now() - started) / 1000 - ingestSeconds;

  const files = [DOCUMENTS_FILE, OFFSETS_FILE];
  if (embedder) files.push(VECTORS_FILE, ...graphFiles);
  else for (let chunk = 0; chunk < current.chunks; chunk++) files.push(bm25SegmentFile(chunk));
  const sizes: Record<string, number> = {};
  for (const name of files) sizes[name] = (await stat(join(out, name))).size;
  const manifest: IndexManifest = {
    format: 'rexrag-index', formatVersion: 1,
    kind: embedder ? 'dense' : 'bm25',
    embedder: spec,
    documents: current.documents,
    corpus: { path: corpus, bytes: corpusInfo.bytes, lines: current.lastLine, skippedLines: current.skippedLines, ...(duplicates.duplicatePassages > 0 ? { duplicatePassages: duplicates.duplicatePassages } : {}) },
    chunks: current.chunks,
    chunkSize,
    ...(embedder ? { dense: { dim: embedder.dim, ann, ...(ann === 'hnsw' ? { hnsw } : {}), ...(shards > 1 ? { shards } : {}) } } : { bm25: { segments: current.chunks } }),
    files: sizes,
    createdAt: new Date().toISOString(),
  };
  await writeManifest(out, manifest);
  await rm(join(out, BUILD_STATE_FILE), { force: true });

  const summary: BuildSummary = {
    out, kind: manifest.kind, embedder: spec, embedderName: embedderLabel(spec),
    documents: current.documents, lines: current.lastLine, skippedLines: current.skippedLines, duplicatePassages: duplicates.duplicatePassages, chunks: current.chunks,
    ann: embedder ? ann : null, shards: embedder ? shards : 1,
    ingestSeconds, graphSeconds, passagesPerSecond: (current.documents - documentsBefore) / Math.max(ingestSeconds, 1e-9),
    resumed: state !== undefined, resumedFromChunk: state?.chunks ?? 0, alreadyComplete: false,
    seconds: (performance.now() - started) / 1000,
  };
  emit({ type: 'done', summary });
  return summary;
}

/** Reads the corpus from the checkpoint on, one chunk at a time, checkpointing after each; returns the final state. */
async function ingest(out: string, from: BuildState, embedder: DenseEmbedder | undefined, emit: (event: BuildEvent) => void, signal: AbortSignal | undefined, maxLineBytes: number): Promise<BuildState> {
  const resuming = from.chunks > 0;
  const store = await DocumentStoreWriter.open(out, resuming ? { documents: from.documents, documentsBytes: from.documentsBytes } : undefined);
  let vectors: FileHandle | undefined;
  let current = from;
  try {
    if (embedder) vectors = await openVectors(join(out, VECTORS_FILE), resuming ? from.vectorsBytes : undefined);
    const skippedBefore = from.skippedLines;
    const ingestStarted = performance.now();
    const batches = readCorpusBatches(from.corpus.path, {
      batchSize: from.chunkSize,
      onMalformed: from.onMalformed,
      maxLineBytes,
      startAfterLine: from.lastLine,
      signal,
      onSkip: (info) => emit({ type: 'malformed', ...info }),
    });
    for await (const batch of batches) {
      const texts = batch.documents.map((document) => document.contents);
      await store.append(batch.documents);
      let vectorsBytes = current.vectorsBytes;
      if (embedder && vectors && texts.length > 0) {
        const encoded = await embedder.embedPassages(texts);
        const data = packVectors(encoded, embedder.dim, embedder.name);
        await writeFully(vectors, data, vectorsBytes);
        vectorsBytes += data.length;
        await vectors.sync();
      }
      if (!embedder) {
        const segment = buildBm25Segment(texts, current.documents);
        await writeFileAtomic(join(out, bm25SegmentFile(current.chunks)), serialiseBm25Segment(segment));
      }
      await store.sync();
      const stored = store.checkpoint();
      current = {
        ...current,
        chunks: current.chunks + 1,
        lastLine: batch.lastLine,
        skippedLines: skippedBefore + batch.skipped,
        documents: stored.documents,
        documentsBytes: stored.documentsBytes,
        vectorsBytes,
      };
      await writeBuildState(out, current);
      emit({ type: 'chunk', chunk: current.chunks - 1, documents: current.documents, lastLine: current.lastLine, skippedLines: current.skippedLines, bytesRead: batch.bytesRead, corpusBytes: from.corpus.bytes,
        passagesPerSecond: (current.documents - from.documents) / Math.max((performance.now() - ingestStarted) / 1000, 1e-9) });
      signal?.throwIfAborted();
    }
  } finally {
    await store.close();
    await vectors?.close();
  }
  current = { ...current, phase: 'graph' };
  await writeBuildState(out, current);
  return current;
}

/** Opens vectors.f32 for appending: emptied for a new build, truncated back to the checkpoint for a resume. */
async function openVectors(path: string, resumeBytes: number | undefined): Promise<FileHandle> {
  if (resumeBytes === undefined) return open(path, 'w');
  const size = await stat(path).then((info) => info.size, () => -1);
  if (size < resumeBytes) {
    throw new RexragError(`cannot resume: ${path} holds ${Math.max(size, 0)} bytes, fewer than the ${resumeBytes} its build state records; rebuild with --restart`, 'ERR_IO');
  }
  const handle = await open(path, 'r+');
  await handle.truncate(resumeBytes);
  return handle;
}

/** Concatenates vectors into little-endian float32 bytes, checking each one's length. */
function packVectors(vectors: readonly Float32Array[], dim: number, name: string): Uint8Array {
  const packed = new Float32Array(vectors.length * dim);
  vectors.forEach((vector, i) => {
    if (!(vector instanceof Float32Array) || vector.length !== dim) {
      throw new RexragError(`embedder ${name} returned a vector of length ${vector?.length} for passage ${i}, expected ${dim}`, 'ERR_NATIVE');
    }
    packed.set(vector, i * dim);
  });
  return new Uint8Array(packed.buffer);
}

/** The fields of a saved build state that differ from the requested build. */
function compareStates(saved: BuildState, wanted: BuildState): string[] {
  const differences: string[] = [];
  if (saved.corpus.path !== wanted.corpus.path) differences.push(`the corpus path (${saved.corpus.path})`);
  else if (saved.corpus.bytes !== wanted.corpus.bytes || saved.corpus.mtimeMs !== wanted.corpus.mtimeMs) differences.push('the corpus file (its size or modification time changed)');
  if (specKey(saved.embedder) !== specKey(wanted.embedder)) differences.push(`the embedder (${embedderLabel(saved.embedder)})`);
  if (saved.chunkSize !== wanted.chunkSize) differences.push(`the chunk size (${saved.chunkSize})`);
  if (saved.onMalformed !== wanted.onMalformed) differences.push(`--on-malformed (${saved.onMalformed})`);
  if (saved.ann !== wanted.ann) differences.push(`the ANN setting (${saved.ann})`);
  if (JSON.stringify(saved.hnsw) !== JSON.stringify(wanted.hnsw)) differences.push('the HNSW parameters');
  if ((saved.shards ?? 1) !== (wanted.shards ?? 1)) differences.push(`the number of shards (${saved.shards ?? 1})`);
  return differences;
}

/** Summary for `mode: 'resume'` on a complete index: checks it matches the request, changes nothing. */
async function completeSummary(out: string, corpus: string, corpusBytes: number, spec: EmbedderSpec, started: number): Promise<BuildSummary> {
  let manifest: IndexManifest;
  try {
    manifest = await readManifest(out);
  } catch (error) {
    throw new RexragError(`${out} has a manifest.json that does not describe a valid index (${(error as Error).message.split('\n')[0]}); rebuild with --restart`, 'ERR_IO', { cause: error });
  }
  if (manifest.corpus.path !== corpus || specKey(manifest.embedder) !== specKey(spec)) {
    throw new RexragError(`${out} already holds a complete index of ${manifest.corpus.path} with ${embedderLabel(manifest.embedder)}; use --restart to rebuild it`, 'ERR_INVALID_ARG');
  }
  if (manifest.corpus.bytes !== corpusBytes) {
    throw new RexragError(`${out} holds a complete index of an earlier version of ${corpus} (${manifest.corpus.bytes} bytes, now ${corpusBytes}); use --restart to rebuild it`, 'ERR_INVALID_ARG');
  }
  return {
    out, kind: manifest.kind, embedder: manifest.embedder, embedderName: embedderLabel(manifest.embedder),
    documents: manifest.documents, lines: manifest.corpus.lines, skippedLines: manifest.corpus.skippedLines, duplicatePassages: manifest.corpus.duplicatePassages ?? 0, chunks: manifest.chunks,
    ann: manifest.dense?.ann ?? null, shards: manifest.dense?.shards ?? 1, ingestSeconds: 0, graphSeconds: 0, passagesPerSecond: 0, resumed: false, resumedFromChunk: manifest.chunks, alreadyComplete: true,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Removes the files an index build writes (manifest first, so the folder stops being a valid index at once;
 * then the build state, the data files, BM25 segments and temporary files). Other files are left alone.
 */
export async function clearIndexFolder(folder: string): Promise<void> {
  await rm(join(folder, MANIFEST_FILE), { force: true });
  await rm(join(folder, BUILD_STATE_FILE), { force: true });
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (isIndexFile(name)) await rm(join(folder, name), { force: true });
  }
}

/** True for the names an index build writes: data files, BM25 segments, shard graphs and their temporary files. */
function isIndexFile(name: string): boolean {
  return [MANIFEST_FILE, BUILD_STATE_FILE, DOCUMENTS_FILE, OFFSETS_FILE, VECTORS_FILE, HNSW_FILE].includes(name)
    || /^(bm25-\d+\.json|hnsw-shard-\d+\.bin)$/.test(name)
    || /^\.(manifest\.json|build-state\.json|hnsw\.bin|hnsw-shard-\d+\.bin|bm25-\d+\.json)\.tmp-[0-9a-f-]+$/.test(name);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
