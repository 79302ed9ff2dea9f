// A node:http server with Search-R1's retrieval API over any Retriever: POST /retrieve and GET /health.
// It validates input (400), limits request bodies (413), binds 127.0.0.1 by default and closes gracefully.
// What it serves (a local index, or anything else) and any logging are the caller's business.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expectInteger, expectObject, expectString } from '../validate.js';
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
  /** Called once per finished request, and for every 5xx error. */
  onEvent?: (event: RetrievalServerEvent) => void;
}

export type RetrievalServerEvent =
  | { type: 'request'; method: string; path: string; status: number; queries: number; ms: number }
  | { type: 'error'; error: unknown };

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
  const emit = options.onEvent ?? (() => {});

  const limits = { defaultTopk, maxTopk, maxQueries };
  const server = createServer((request, response) => {
    const started = performance.now();
    const path = (request.url ?? '/').split('?')[0]!;
    let queries = 0;
    handle(request, response, path, (count) => (queries = count))
      .catch((error: unknown) => {
        if (error instanceof HttpError) return send(response, error.status, { error: error.message });
        emit({ type: 'error', error });
        return send(response, 500, { error: `retrieval failed: ${error instanceof Error ? error.message : String(error)}` });
      })
      .finally(() => emit({ type: 'request', method: request.method ?? '', path, status: response.statusCode, queries, ms: performance.now() - started }));
  });

  async function handle(request: IncomingMessage, response: ServerResponse, path: string, count: (queries: number) => void): Promise<void> {
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
function parseRetrieveRequest(body: string, limits: { defaultTopk: number; maxTopk: number; maxQueries: number }): RetrieveRequest {
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
    request.on('error', (error) => {
      if (!done) rejectBody(error);
    });
  });
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
