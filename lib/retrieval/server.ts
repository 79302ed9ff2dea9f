// A node:http server with Search-R1's retrieval API over any Retriever: POST /retrieve and GET /health.
// It validates input (400), bounds every request before searching (body size 413, queries x topk 400), checks
// Host/Origin, the JSON content type and an optional bearer token, cuts slow clients with timeouts, binds
// 127.0.0.1 by default and closes gracefully. What it serves and any logging are the caller's business.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { expectArray, expectInteger, expectObject, expectString } from '../validate.js';
import { bearerMatches, defaultAllowedHosts, hostProblem, isJsonContentType } from './request-guards.js';
import type { Retriever } from './types.js';

/** A Retriever that may also report counts for GET /health (LocalRetriever does). */
export type ServedRetriever = Retriever & { stats?(): Record<string, unknown> };

export interface RetrievalServerOptions {
  /** Interface to bind. Default 127.0.0.1 (Search-R1 binds 0.0.0.0; pass it explicitly to expose the server). */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8000 (Search-R1's). */
  port?: number;
  /** Hits per query when a request's topk is missing, null or 0. Default 3. */
  topk?: number;
  /** Largest accepted request body, in bytes; larger ones get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most queries in one request. Default 4096. */
  maxQueries?: number;
  /** Largest topk a request may ask for. Default 1000. */
  maxTopk?: number;
  /** Most hits one request may ask for: queries x topk (each hit is a whole corpus row). Default 16384. */
  maxResults?: number;
  /**
   * Host names (and Origin hosts) accepted besides the bound address's own (loopback names when bound to
   * loopback; this machine's name and interface addresses when bound to 0.0.0.0 or ::). `['*']` accepts any.
   */
  allowedHosts?: string[];
  /** When set, every request needs `Authorization: Bearer <token>` (else 401). */
  token?: string;
  /** Time a client has to send its request headers, in ms. Default 10 000. */
  headersTimeoutMs?: number;
  /** Time a client has to send its whole request (headers and body), in ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this many ms. Default 5000. */
  keepAliveTimeoutMs?: number;
  /** Called once per finished request, for every 5xx error, and for every client error (aborted, malformed, too slow). */
  onEvent?: (event: RetrievalServerEvent) => void;
}

/** `status` 499 in a request event: the client went away before its request was read (nothing was sent). */
export type RetrievalServerEvent =
  | { type: 'request'; method: string; path: string; status: number; queries: number; ms: number }
  | { type: 'error'; error: unknown }
  | { type: 'client-error'; message: string };

export interface RetrievalServer {
  /** Base URL, e.g. http://127.0.0.1:8000 (the endpoint is `${url}/retrieve`). */
  url: string;
  host: string;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish (up to `graceMs`, default 5 s), then resolves. */
  close(graceMs?: number): Promise<void>;
}

/** A request the server answers with a 4xx status and `{"error": message}`. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The client closed its connection before its request was read: nothing to answer, only a line to log. */
class ClientGone extends Error {}

/** The status logged for a request whose client went away (nginx's "client closed request"). */
const CLIENT_CLOSED = 499;

interface RetrieveRequest {
  queries: string[];
  topk: number;
  returnScores: boolean;
}

/**
 * Starts serving `retriever` and resolves once listening.
 *
 * `POST /retrieve` takes `{queries: string[], topk?: int|null, return_scores?: bool}` and answers
 * `{"result": [[{"document": row, "score": s}, ...], ...]}` with return_scores, else `{"result": [[row, ...], ...]}`:
 * one list per query in request order, `row` being the whole corpus row. `GET /health` answers
 * `{"status": "ok", "topk": default, ...retriever.stats()}`. Errors are `{"error": message}`.
 */
export async function startRetrievalServer(retriever: ServedRetriever, options: RetrievalServerOptions = {}): Promise<RetrievalServer> {
  if (typeof retriever?.search !== 'function') throw new TypeError('retriever must have a search(queries, topk) method');
  expectObject(options, 'options');
  const host = options.host === undefined ? '127.0.0.1' : expectString(options.host, 'options.host', { nonEmpty: true });
  const port = options.port === undefined ? 8000 : expectInteger(options.port, 'options.port', { min: 0, max: 65535 });
  const maxTopk = options.maxTopk === undefined ? 1000 : expectInteger(options.maxTopk, 'options.maxTopk', { min: 1 });
  const defaultTopk = options.topk === undefined ? 3 : expectInteger(options.topk, 'options.topk', { min: 1, max: maxTopk });
  const maxBodyBytes = options.maxBodyBytes === undefined ? 1 << 20 : expectInteger(options.maxBodyBytes, 'options.maxBodyBytes', { min: 1 });
  const maxQueries = options.maxQueries === undefined ? 4096 : expectInteger(options.maxQueries, 'options.maxQueries', { min: 1 });
  const maxResults = options.maxResults === undefined ? 16_384 : expectInteger(options.maxResults, 'options.maxResults', { min: 1 });
  const extraHosts = options.allowedHosts === undefined ? [] : expectArray(options.allowedHosts, 'options.allowedHosts')
    .map((name, i) => expectString(name, `options.allowedHosts[${i}]`, { nonEmpty: true }).toLowerCase());
  const token = options.token === undefined ? undefined : expectString(options.token, 'options.token', { nonEmpty: true });
  const timeout = (value: number | undefined, name: string, fallback: number) => (value === undefined ? fallback : expectInteger(value, `options.${name}`, { min: 1 }));
  const requestTimeoutMs = timeout(options.requestTimeoutMs, 'requestTimeoutMs', 30_000);
  const headersTimeoutMs = Math.min(requestTimeoutMs, timeout(options.headersTimeoutMs, 'headersTimeoutMs', 10_000));
  const keepAliveTimeoutMs = timeout(options.keepAliveTimeoutMs, 'keepAliveTimeoutMs', 5000);
  const emit = options.onEvent ?? (() => {});

  const limits = { defaultTopk, maxTopk, maxQueries, maxResults };
  let allowed: Set<string> | undefined; // set once the bound address is known
  const busySockets = new WeakSet<Socket>(); // sockets whose request the handler reports itself
  const server = createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // Node checks both timeouts on this period (30 s by default, which would let a trickling client stay that long).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeoutMs / 2))),
  }, (request, response) => {
    const started = performance.now();
    const path = (request.url ?? '/').split('?')[0]!;
    let queries = 0;
    let status: number | undefined;
    busySockets.add(request.socket);
    handle(request, response, path, (count) => (queries = count))
      .catch((error: unknown) => {
        if (error instanceof ClientGone) {
          status = CLIENT_CLOSED;
          emit({ type: 'client-error', message: `${request.method ?? ''} ${path}: ${error.message}` });
          return;
        }
        if (error instanceof HttpError) return send(response, error.status, { error: error.message });
        emit({ type: 'error', error });
        return send(response, 500, { error: `retrieval failed: ${error instanceof Error ? error.message : String(error)}` });
      })
      .finally(() => {
        busySockets.delete(request.socket);
        emit({ type: 'request', method: request.method ?? '', path, status: status ?? response.statusCode, queries, ms: performance.now() - started });
      });
  });
  server.keepAliveTimeout = keepAliveTimeoutMs;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const reportedByHandler = busySockets.has(socket) && (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE');
    answerClientError(error, socket, reportedByHandler ? () => {} : emit);
  });

  async function handle(request: IncomingMessage, response: ServerResponse, path: string, count: (queries: number) => void): Promise<void> {
    const refused = hostProblem({ host: request.headers.host, origin: request.headers.origin }, allowed);
    if (refused !== undefined) {
      request.resume();
      throw new HttpError(403, refused);
    }
    if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
      request.resume();
      response.setHeader('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'this server needs "Authorization: Bearer <token>" (the token it was started with)');
    }
    if (path === '/health') {
      request.resume();
      if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed(response, 'GET, HEAD');
      return send(response, 200, { status: 'ok', topk: defaultTopk, ...(retriever.stats?.() ?? {}) });
    }
    if (path !== '/retrieve') {
      request.resume();
      throw new HttpError(404, `no route ${path}; use POST /retrieve or GET /health`);
    }
    if (request.method !== 'POST') {
      request.resume();
      throw methodNotAllowed(response, 'POST');
    }
    if (!isJsonContentType(request.headers['content-type'])) {
      request.resume();
      throw new HttpError(415, `the body must be sent as Content-Type: application/json, got ${JSON.stringify(request.headers['content-type'] ?? '(none)')}`);
    }
    const body = await readBody(request, response, maxBodyBytes);
    const parsed = parseRetrieveRequest(body, limits);
    count(parsed.queries.length);
    const hits = parsed.queries.length === 0 ? [] : await retriever.search(parsed.queries, parsed.topk);
    const result = hits.map((list) => (parsed.returnScores
      ? list.map((hit) => ({ document: hit.document, score: hit.score }))
      : list.map((hit) => hit.document)));
    send(response, 200, { result });
  }

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  allowed = extraHosts.includes('*') ? undefined : new Set([...defaultAllowedHosts(address.address), ...extraHosts]);
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolveClose) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolveClose();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

/** Checks a /retrieve body; every problem is a 400 naming the field. */
function parseRetrieveRequest(body: string, limits: { defaultTopk: number; maxTopk: number; maxQueries: number; maxResults: number }): RetrieveRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the body must be a JSON object with a "queries" array');
  const { queries, topk, return_scores: returnScores } = value as Record<string, unknown>;
  if (!Array.isArray(queries)) throw new HttpError(400, '"queries" must be an array of strings');
  if (queries.length > limits.maxQueries) throw new HttpError(400, `"queries" has ${queries.length} entries; at most ${limits.maxQueries} per request`);
  const bad = queries.findIndex((query) => typeof query !== 'string');
  if (bad >= 0) throw new HttpError(400, `"queries"[${bad}] must be a string`);
  let k = limits.defaultTopk;
  if (topk !== undefined && topk !== null && topk !== 0) {
    if (typeof topk !== 'number' || !Number.isInteger(topk) || topk < 0 || topk > limits.maxTopk) {
      throw new HttpError(400, `"topk" must be an integer in [0, ${limits.maxTopk}] or null (0 or null: the server default, ${limits.defaultTopk})`);
    }
    k = topk;
  }
  if (returnScores !== undefined && returnScores !== null && typeof returnScores !== 'boolean') {
    throw new HttpError(400, '"return_scores" must be a boolean');
  }
  if (queries.length * k > limits.maxResults) {
    throw new HttpError(400, `the request asks for ${queries.length} queries x topk ${k} = ${queries.length * k} hits; at most ${limits.maxResults} per request (send fewer queries per request)`);
  }
  return { queries: queries as string[], topk: k, returnScores: returnScores === true };
}

/** Reads the whole body as UTF-8, or rejects with 413 as soon as it exceeds `limit` bytes. */
function readBody(request: IncomingMessage, response: ServerResponse, limit: number): Promise<string> {
  const tooLarge = () => {
    // Answer at once, then discard the rest of the upload and drop the connection afterwards.
    response.setHeader('Connection', 'close');
    request.resume();
    return new HttpError(413, `the request body exceeds ${limit} bytes`);
  };
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolveBody, rejectBody) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        request.off('data', onData);
        rejectBody(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => {
      if (!done) resolveBody(Buffer.concat(chunks).toString('utf8'));
    });
    // A client that disconnects mid-body makes the request emit 'aborted'/'error' (ECONNRESET): its fault, not ours.
    const gone = (reason: string) => {
      if (done) return;
      done = true;
      rejectBody(new ClientGone(`the client closed the connection before sending its whole body (${reason})`));
    };
    request.on('aborted', () => gone('aborted'));
    request.on('error', (error: NodeJS.ErrnoException) => gone(error.code ?? error.message));
    request.on('close', () => {
      if (!request.complete) gone('closed');
    });
  });
}

/**
 * Answers an HTTP-level client error (malformed request, headers or body too slow, reset) the way Node would,
 * as JSON, and reports it as a client error instead of letting it pass silently.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, emit: (event: RetrievalServerEvent) => void): void {
  emit({ type: 'client-error', message: `${error.code ?? 'error'}: ${error.message}` });
  if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({ error: status === 408 ? 'the request took too long to arrive' : `malformed request (${error.code ?? error.message})` });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function methodNotAllowed(response: ServerResponse, allow: string): HttpError {
  response.setHeader('Allow', allow);
  return new HttpError(405, `method not allowed; use ${allow}`);
}

function send(response: ServerResponse, status: number, payload: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const body = JSON.stringify(payload);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}
