// `rexrag index`: builds a retrieval index folder from a JSONL corpus (library: buildIndex in lib/retrieval).
// Draws a progress bar on stderr when it is a TTY, reports skipped lines there, and prints a JSON summary.
import { RexragError } from '../errors.js';
import { buildIndex, type BuildEvent, type BuildMode } from '../retrieval/build.js';
import { DEFAULT_MAX_LINE_BYTES } from '../retrieval/corpus.js';
import { DEFAULT_HNSW_PARAMS } from '../retrieval/dense-index.js';
import { describeDuplicates } from '../retrieval/duplicate-ids.js';
import { checkOutputFolder } from './output-file.js';
import { numberOption, stringOption } from './parse.js';
import { ProgressBar } from './progress-bar.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag index --corpus FILE.jsonl --out DIR [options]
  Builds a retrieval index from a Search-R1/FlashRAG JSONL corpus: one {"id", "contents": "\\"Title\\"\\ntext"}
  (or {"id", "title", "text"}) object per line.
  --embedder SPEC         hashed (default, 512 dims) | hashed:DIM | bm25 | bm25:K1,B | e5:MODEL_DIR
  --resume                continue an interrupted build in DIR (a complete index is left as it is)
  --restart               delete the index files in DIR and build from scratch
  --on-malformed MODE     fail (default): stop at the first bad line, or at repeated ids once the corpus is read |
                          skip: report bad lines (dropped) and repeated ids (kept) on stderr and go on
  --max-line-bytes N      a longer corpus line is malformed, never read whole (default 8388608 = 8 MiB)
  --chunk-size N          documents per chunk, the unit of progress and of resumption (default 4096)
  --ann hnsw|flat         dense embedders: also build an HNSW graph (default) or keep exact search only
  --hnsw-m N              HNSW graph degree M (default ${DEFAULT_HNSW_PARAMS.M})
  --ef-construction N     HNSW build beam width (default ${DEFAULT_HNSW_PARAMS.efConstruction})
  --ef-search N           HNSW search beam width saved with the index (default ${DEFAULT_HNSW_PARAMS.efSearch})
  --shards N              dense: split the passages into N contiguous ranges with one HNSW graph each, built one
                          at a time and searched together by serve (default 1)
  Prints a JSON summary on stdout. Ctrl-C stops after the current chunk; --resume continues from there.`;

const MAX_MALFORMED_SHOWN = 20;

export const indexCommand = defineCommand({
  name: 'index',
  summary: 'build a retrieval index (hashed dense vectors + HNSW, or BM25) from a JSONL corpus',
  usage,
  options: {
      corpus: { type: 'string' },
      out: { type: 'string' },
      embedder: { type: 'string' },
      resume: { type: 'boolean' },
      restart: { type: 'boolean' },
      'on-malformed': { type: 'string' },
      'chunk-size': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      ann: { type: 'string' },
      'hnsw-m': { type: 'string' },
      'ef-construction': { type: 'string' },
      'ef-search': { type: 'string' },
      shards: { type: 'string' },
    },
  async run(values) {
    const corpus = stringOption(values, 'corpus', true);
    const out = stringOption(values, 'out', true);
    await checkOutputFolder(out, 'out');
    if (values.resume && values.restart) throw new CliUsageError('--resume and --restart cannot be used together');
    const mode: BuildMode = values.resume ? 'resume' : values.restart ? 'restart' : 'new';
    const onMalformed = stringOption(values, 'on-malformed') ?? 'fail';
    if (onMalformed !== 'skip' && onMalformed !== 'fail') throw new CliUsageError(`--on-malformed must be skip or fail, got "${onMalformed}"`);
    const ann = stringOption(values, 'ann') ?? 'hnsw';
    if (ann !== 'hnsw' && ann !== 'flat') throw new CliUsageError(`--ann must be hnsw or flat, got "${ann}"`);
    const chunkSize = numberOption(values, 'chunk-size', 4096, { min: 1, integer: true });
    const maxLineBytes = numberOption(values, 'max-line-bytes', DEFAULT_MAX_LINE_BYTES, { min: 1, integer: true });
    const shards = numberOption(values, 'shards', 1, { min: 1, max: 4096, integer: true });
    const hnsw = {
      M: numberOption(values, 'hnsw-m', DEFAULT_HNSW_PARAMS.M, { min: 2, max: 512, integer: true }),
      efConstruction: numberOption(values, 'ef-construction', DEFAULT_HNSW_PARAMS.efConstruction, { min: 1, integer: true }),
      efSearch: numberOption(values, 'ef-search', DEFAULT_HNSW_PARAMS.efSearch, { min: 1, integer: true }),
    };

    const bar = new ProgressBar();
    let malformed = 0;
    let lastChunk = -1;
    const onEvent = (event: BuildEvent) => {
      if (event.type === 'start' && event.resumed) {
        bar.message(`rexrag index: resuming after chunk ${event.fromChunk - 1} (corpus line ${event.fromLine})`);
      } else if (event.type === 'malformed') {
        malformed++;
        if (malformed <= MAX_MALFORMED_SHOWN) bar.message(`rexrag index: skipped ${event.path} line ${event.line}: ${event.reason}`);
        else if (malformed === MAX_MALFORMED_SHOWN + 1) bar.message('rexrag index: more malformed lines skipped; the total is in the summary');
      } else if (event.type === 'duplicates') {
        bar.message(`rexrag index: ${describeDuplicates(event.report)} (kept; ids should be unique)`);
      } else if (event.type === 'chunk') {
        lastChunk = event.chunk;
        bar.update('reading ', event.bytesRead / Math.max(1, event.corpusBytes), `${event.documents} docs, ${Math.round(event.passagesPerSecond)} passages/s`);
      } else if (event.type === 'graph') {
        const label = event.shards > 1 ? `hnsw ${event.shard + 1}/${event.shards}` : 'hnsw    ';
        bar.update(label, event.added / Math.max(1, event.total), `${event.added}/${event.total}`, event.added === event.total);
      } else if (event.type === 'done') {
        bar.done();
      }
    };

    const controller = new AbortController();
    const stop = () => controller.abort(new RexragError('interrupted', 'ERR_IO'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const summary = await buildIndex({
        corpus, out, embedder: stringOption(values, 'embedder'), mode, chunkSize,
        onMalformed, maxLineBytes, ann, hnsw: { ...DEFAULT_HNSW_PARAMS, ...hnsw }, shards, onEvent, signal: controller.signal,
      });
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    } catch (error) {
      bar.done();
      if (controller.signal.aborted) {
        process.stderr.write(`rexrag index: interrupted${lastChunk >= 0 ? ` after chunk ${lastChunk}` : ''}; run the same command with --resume to continue\n`);
        return 130;
      }
      throw error;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
});
