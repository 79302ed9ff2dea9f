// The index manifest (manifest.json): format version, embedder spec, counts, parameters and the size of every
// data file. It is written last and atomically, so a folder with a valid manifest is a complete index; reading
// checks it and the files it lists. Building and searching are left to build.ts and load.ts.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { z } from 'zod';

import { RexragError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import type { EmbedderSpec } from './embedder.js';

export const MANIFEST_FILE = 'manifest.json';
/** The dense vectors file (dense-index.ts's VECTORS_FILE; repeated here to keep this file free of hnswlib). */
const VECTORS_FILE_NAME = 'vectors.f32';
export const INDEX_FORMAT = 'rexrag-index';
export const INDEX_FORMAT_VERSION = 1;

const hashedSpecSchema = z.object({
  kind: z.literal('hashed'),
  dim: z.number().int().min(8).max(65536),
  charNgramMin: z.number().int().min(1).max(16),
  charNgramMax: z.number().int().min(1).max(16),
  unigramWeight: z.number().min(0),
  bigramWeight: z.number().min(0),
  charWeight: z.number().min(0),
  seed: z.number().int().min(0),
}).strict();
const e5SpecSchema = z.object({ kind: z.literal('e5'), modelDir: z.string().min(1) }).strict();
const bm25SpecSchema = z.object({ kind: z.literal('bm25'), k1: z.number().min(0), b: z.number().min(0).max(1) }).strict();

/** zod schema of an embedder spec (also used by the build state). */
export const embedderSpecSchema = z.discriminatedUnion('kind', [hashedSpecSchema, e5SpecSchema, bm25SpecSchema]);

export const hnswParamsSchema = z.object({
  M: z.number().int().min(2),
  efConstruction: z.number().int().min(1),
  efSearch: z.number().int().min(1),
  randomSeed: z.number().int().min(0),
}).strict();

const manifestSchema = z.object({
  format: z.literal(INDEX_FORMAT),
  formatVersion: z.number().int(),
  kind: z.enum(['dense', 'bm25']),
  embedder: embedderSpecSchema,
  documents: z.number().int().min(1),
  corpus: z.object({
    path: z.string(),
    bytes: z.number().int().min(0),
    lines: z.number().int().min(0),
    skippedLines: z.number().int().min(0),
    /** Passages whose id an earlier one already has (built with onMalformed 'skip'; absent means none). */
    duplicatePassages: z.number().int().min(1).optional(),
  }).strict(),
  chunks: z.number().int().min(1),
  chunkSize: z.number().int().min(1),
  dense: z.object({
    dim: z.number().int().min(1),
    ann: z.enum(['hnsw', 'flat']),
    hnsw: hnswParamsSchema.optional(),
    /** Contiguous passage-range shards, each with its own HNSW graph (hnsw-shard-NNN.bin); absent means one. */
    shards: z.number().int().min(1).optional(),
  }).strict().optional(),
  bm25: z.object({ segments: z.number().int().min(1) }).strict().optional(),
  files: z.record(z.string(), z.number().int().min(0)),
  createdAt: z.string(),
}).strict();

export type IndexManifest = z.infer<typeof manifestSchema>;

/** The error for a folder that is not a complete, valid index; says how to get one. */
function notAnIndex(folder: string, problem: string, cause?: unknown): RexragError {
  return new RexragError(
    `${folder} is not a complete rexrag index: ${problem}. If a build was interrupted, finish it with ` +
      '`rexrag index --resume` (same --corpus and --out) or rebuild it with `rexrag index --restart`.',
    'ERR_IO',
    { cause },
  );
}

/** Writes the manifest atomically (temp file + fsync + rename): call it only after every data file is durable. */
export async function writeManifest(folder: string, manifest: IndexManifest): Promise<void> {
  const checked = manifestSchema.parse(manifest);
  await writeFileAtomic(join(folder, MANIFEST_FILE), `${JSON.stringify(checked, null, 2)}\n`);
}

/**
 * Reads and validates `folder`/manifest.json: JSON, schema, format version, kind-specific sections, the
 * embedder spec's kind, and that every listed file exists with the recorded size. Any failure is an ERR_IO
 * RexragError that names the folder and the problem.
 */
export async function readManifest(folder: string): Promise<IndexManifest> {
  const path = join(folder, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw notAnIndex(folder, code === 'ENOENT' ? `${MANIFEST_FILE} is missing` : `cannot read ${MANIFEST_FILE} (${(error as Error).message})`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw notAnIndex(folder, `${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`, error);
  }
  const version = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version !== INDEX_FORMAT_VERSION) {
    throw notAnIndex(folder, `${MANIFEST_FILE} has format version ${version}; this rexrag reads version ${INDEX_FORMAT_VERSION}`);
  }
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) throw notAnIndex(folder, `${MANIFEST_FILE} is invalid:\n${z.prettifyError(parsed.error)}`);
  const manifest = parsed.data;
  const isDense = manifest.kind === 'dense';
  if (isDense !== (manifest.embedder.kind !== 'bm25') || isDense !== (manifest.dense !== undefined) || isDense === (manifest.bm25 !== undefined)) {
    throw notAnIndex(folder, `${MANIFEST_FILE} is inconsistent: kind "${manifest.kind}" with embedder "${manifest.embedder.kind}"`);
  }
  if (manifest.dense) {
    // A vectors file that is not documents x dim float32 means the recorded dim (or count) is not the one the
    // vectors were written with: searching would compare vectors of different sizes and return wrong hits.
    if (manifest.embedder.kind === 'hashed' && manifest.embedder.dim !== manifest.dense.dim) {
      throw notAnIndex(folder, `${MANIFEST_FILE} is inconsistent: the embedder has ${manifest.embedder.dim} dims but dense.dim is ${manifest.dense.dim}`);
    }
    const vectorsBytes = manifest.files[VECTORS_FILE_NAME];
    const expected = manifest.documents * manifest.dense.dim * 4;
    if (vectorsBytes === undefined) throw notAnIndex(folder, `${MANIFEST_FILE} lists no ${VECTORS_FILE_NAME} for a dense index`);
    if (vectorsBytes !== expected) {
      throw notAnIndex(folder, `${VECTORS_FILE_NAME} holds ${vectorsBytes} bytes, not ${manifest.documents} documents x ${manifest.dense.dim} dims x 4 = ${expected}: ${MANIFEST_FILE}'s dim or document count does not match the vectors`);
    }
  }
  for (const [name, bytes] of Object.entries(manifest.files)) {
    let size: number;
    try {
      size = (await stat(join(folder, name))).size;
    } catch (error) {
      throw notAnIndex(folder, `${name}, listed in ${MANIFEST_FILE}, is missing`, error);
    }
    if (size !== bytes) throw notAnIndex(folder, `${name} has ${size} bytes but ${MANIFEST_FILE} records ${bytes}`);
  }
  return manifest;
}

/** Canonical JSON of an embedder spec (sorted keys), for comparing specs. */
export function specKey(spec: EmbedderSpec): string {
  const entries = Object.entries(spec).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify(entries);
}
