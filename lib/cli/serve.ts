// `rexrag serve`: serves an index folder over Search-R1's retrieval HTTP API (library: startRetrievalServer).
// Prints the listening address on stderr and closes gracefully on SIGINT/SIGTERM.
import { LocalRetriever } from '../retrieval/local-retriever.js';
import { startRetrievalServer } from '../retrieval/server.js';
import { numberOption, stringOption } from './parse.js';
import { CliUsageError, defineCommand } from './usage.js';

const usage = `usage: rexrag serve --index DIR [--host 127.0.0.1] [--port 8000] [--topk 3] [options]
  Serves POST /retrieve {"queries": [...], "topk": 3, "return_scores": true} and GET /health.
  --host ADDRESS       interface to bind (default 127.0.0.1; 0.0.0.0 exposes it to the network)
  --port N             TCP port (default 8000; 0 picks a free one)
  --topk N             hits per query when a request gives no topk (default 3)
  --search MODE        auto (default: HNSW when built) | exact (brute force) | hnsw
  --ef-search N        HNSW search beam width (default: the one saved with the index)
  --max-body-bytes N   largest request body accepted (default 1048576)
  --log                one line per request on stderr`;

export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'serve an index over the Search-R1 retrieval API (POST /retrieve, GET /health)',
  usage,
  options: {
      index: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      topk: { type: 'string' },
      search: { type: 'string' },
      'ef-search': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      log: { type: 'boolean' },
    },
  async run(values) {
    const folder = stringOption(values, 'index', true);
    const search = stringOption(values, 'search') ?? 'auto';
    if (search !== 'auto' && search !== 'exact' && search !== 'hnsw') throw new CliUsageError(`--search must be auto, exact or hnsw, got "${search}"`);
    const efSearch = stringOption(values, 'ef-search') === undefined ? undefined : numberOption(values, 'ef-search', 0, { min: 1, integer: true });
    const host = stringOption(values, 'host') ?? '127.0.0.1';
    const port = numberOption(values, 'port', 8000, { min: 0, max: 65535, integer: true });
    const topk = numberOption(values, 'topk', 3, { min: 1, max: 1000, integer: true });
    const maxBodyBytes = numberOption(values, 'max-body-bytes', 1 << 20, { min: 1, integer: true });
    const log = values.log === true;

    const retriever = await LocalRetriever.open(folder, { search, efSearch });
    const server = await startRetrievalServer(retriever, {
      host, port, topk, maxBodyBytes,
      onEvent(event) {
        if (event.type === 'error') process.stderr.write(`rexrag serve: ${event.error instanceof Error ? event.error.stack : String(event.error)}\n`);
        else if (log) process.stderr.write(`${event.method} ${event.path} ${event.status} ${event.queries} queries ${event.ms.toFixed(1)} ms\n`);
      },
    });
    const stats = retriever.stats();
    process.stderr.write(`rexrag serve: listening on ${server.url} (POST ${server.url}/retrieve; ${String(stats.documents)} documents, ${String(stats.embedder)}, ${String(stats.search ?? stats.kind)})\n`);

    const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
      process.once('SIGINT', () => resolveSignal('SIGINT'));
      process.once('SIGTERM', () => resolveSignal('SIGTERM'));
    });
    process.stderr.write(`rexrag serve: ${signal}, closing\n`);
    await server.close();
    await retriever.close();
    return 0;
  },
});
