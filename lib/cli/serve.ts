// `rexrag serve`: serves an index folder over Search-R1's retrieval HTTP API (library: startRetrievalServer).
// Prints the listening address on stderr and closes gracefully on SIGINT/SIGTERM.
import { LocalRetriever } from '../retrieval/local-retriever.js';
import { isLoopback } from '../retrieval/request-guards.js';
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
  --max-body-bytes N   largest request body accepted (default 1048576; larger: 413)
  --max-results N      most hits per request, queries x topk (default 16384; more: 400)
  --allowed-hosts LIST comma-separated host names accepted in Host/Origin besides the bound address's own
                       (default none; "*" accepts any host)
  --token TOKEN        require "Authorization: Bearer TOKEN" (default: $REXRAG_TOKEN when set; prefer the
                       variable, a command line is visible to other users of the machine)
  --headers-timeout-ms N, --request-timeout-ms N, --keep-alive-timeout-ms N
                       time to send the headers (default 10000), the whole request (30000); idle keep-alive (5000)
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
      'max-results': { type: 'string' },
      'allowed-hosts': { type: 'string' },
      token: { type: 'string' },
      'headers-timeout-ms': { type: 'string' },
      'request-timeout-ms': { type: 'string' },
      'keep-alive-timeout-ms': { type: 'string' },
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
    const maxResults = numberOption(values, 'max-results', 16_384, { min: 1, integer: true });
    const allowedHosts = (stringOption(values, 'allowed-hosts') ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
    const token = stringOption(values, 'token') ?? (process.env.REXRAG_TOKEN || undefined);
    const headersTimeoutMs = numberOption(values, 'headers-timeout-ms', 10_000, { min: 1, integer: true });
    const requestTimeoutMs = numberOption(values, 'request-timeout-ms', 30_000, { min: 1, integer: true });
    const keepAliveTimeoutMs = numberOption(values, 'keep-alive-timeout-ms', 5000, { min: 1, integer: true });
    const log = values.log === true;
    if (!isLoopback(host) && token === undefined) {
      process.stderr.write(`rexrag serve: warning: --host ${host} exposes the corpus to the network without a token; set REXRAG_TOKEN (or --token) so clients must send "Authorization: Bearer ..."\n`);
    }

    const retriever = await LocalRetriever.open(folder, { search, efSearch });
    const server = await startRetrievalServer(retriever, {
      host, port, topk, maxBodyBytes, maxResults, allowedHosts, token, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs,
      onEvent(event) {
        if (event.type === 'error') process.stderr.write(`rexrag serve: ${event.error instanceof Error ? event.error.stack : String(event.error)}\n`);
        else if (event.type === 'client-error') process.stderr.write(`rexrag serve: client error: ${event.message}\n`);
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
