// The Search-R1-compatible HTTP server and the HttpRetriever client on 127.0.0.1 with ephemeral ports:
// both response shapes, topk defaults, 400/404/405/413, /health, batching, retries and ERR_RETRIEVER.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { HttpRetriever } from '../../lib/retrieval/http-client.js';
import { LocalRetriever } from '../../lib/retrieval/local-retriever.js';
import { startRetrievalServer, type RetrievalServerEvent } from '../../lib/retrieval/server.js';
import type { CorpusDocument } from '../../lib/retrieval/types.js';
import { generateCorpus, removeTemporaryFolders, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';

let retriever: LocalRetriever;
let rows: CorpusDocument[];

test.before(async () => {
  const folder = await temporaryFolder();
  ({ rows } = generateCorpus(200, { seed: 12 }));
  rows[0] = { ...rows[0]!, url: 'https://example.org/0' };
  const path = await writeJsonl(folder, 'corpus.jsonl', rows);
  await buildIndex({ corpus: path, out: join(folder, 'index'), chunkSize: 64 });
  retriever = await LocalRetriever.open(join(folder, 'index'));
});

test.after.always(async () => {
  await retriever?.close();
  await removeTemporaryFolders();
});

async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${url}/retrieve`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

test('POST /retrieve answers in Search-R1\'s shapes, with and without scores', async (t) => {
  const server = await startRetrievalServer(retriever, { port: 0, topk: 3 });
  try {
    t.regex(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const queries = [rows[0]!.contents, rows[150]!.contents];
    const scored = await post(server.url, { queries, topk: 2, return_scores: true });
    t.is(scored.status, 200);
    t.is(scored.json.result.length, 2);
    t.deepEqual(scored.json.result[0][0].document, rows[0], 'the whole corpus row, extra fields included');
    t.is(typeof scored.json.result[0][0].score, 'number');
    t.is(scored.json.result[0].length, 2);
    t.is(scored.json.result[1][0].document.id, 'doc-150');

    const bare = await post(server.url, { queries });
    t.is(bare.status, 200);
    t.deepEqual(bare.json.result[0][0], rows[0], 'return_scores false: bare documents');
    t.is(bare.json.result[0].length, 3, 'topk missing: the server default');
    for (const topk of [0, null]) t.is((await post(server.url, { queries: ['x'], topk })).json.result[0].length, 3, `topk ${topk}`);
    t.deepEqual((await post(server.url, { queries: [] })).json, { result: [] });

    const direct = await retriever.search(queries, 2);
    t.deepEqual(scored.json.result, direct.map((hits) => hits.map((hit) => ({ document: hit.document, score: hit.score }))));
  } finally {
    await server.close();
  }
});

test('bad requests get 400/404/405/413 with {"error": message}; /health reports counts', async (t) => {
  const server = await startRetrievalServer(retriever, { port: 0, topk: 4, maxBodyBytes: 2000 });
  try {
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /not valid JSON/],
      [[1, 2], /JSON object/],
      [{ topk: 3 }, /"queries" must be an array/],
      [{ queries: ['ok', 5] }, /"queries"\[1\] must be a string/],
      [{ queries: ['x'], topk: -1 }, /"topk" must be an integer/],
      [{ queries: ['x'], topk: 2.5 }, /"topk"/],
      [{ queries: ['x'], topk: 5000 }, /"topk"/],
      [{ queries: ['x'], return_scores: 'yes' }, /"return_scores" must be a boolean/],
    ];
    for (const [body, message] of cases) {
      const { status, json } = await post(server.url, body);
      t.is(status, 400, JSON.stringify(body));
      t.regex(json.error, message);
    }
    const large = await post(server.url, { queries: ['word '.repeat(1000)] });
    t.is(large.status, 413);
    t.regex(large.json.error, /exceeds 2000 bytes/);
    const chunked = await fetch(`${server.url}/retrieve`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode(`{"queries":["${'a'.repeat(5000)}"]}`)); controller.close(); } }),
      duplex: 'half',
    } as RequestInit);
    t.is(chunked.status, 413, 'a chunked body without Content-Length is limited too');

    const missing = await fetch(`${server.url}/search`, { method: 'POST', body: '{}' });
    t.is(missing.status, 404);
    const wrongMethod = await fetch(`${server.url}/retrieve`);
    t.is(wrongMethod.status, 405);
    t.is(wrongMethod.headers.get('allow'), 'POST');

    const health = await fetch(`${server.url}/health`);
    t.is(health.status, 200);
    const body = await health.json() as Record<string, unknown>;
    t.is(body.status, 'ok');
    t.is(body.documents, 200);
    t.is(body.topk, 4);
    t.is(body.search, 'hnsw');
    t.is((await post(server.url, { queries: ['still fine'] })).status, 200, 'the server still answers after the errors');
  } finally {
    await server.close();
  }
});

test('HttpRetriever matches the local retriever and splits large query lists into batches', async (t) => {
  const events: RetrievalServerEvent[] = [];
  const server = await startRetrievalServer(retriever, { port: 0, onEvent: (e) => events.push(e) });
  try {
    const client = new HttpRetriever({ url: server.url, batchSize: 2 });
    t.is(client.url, `${server.url}/retrieve`);
    const queries = [0, 10, 20, 30, 40].map((i) => rows[i]!.contents);
    const [remote, local] = [await client.search(queries, 3), await retriever.search(queries, 3)];
    t.deepEqual(remote, local);
    const requests = events.filter((e) => e.type === 'request');
    t.deepEqual(requests.map((e) => (e as { queries: number }).queries), [2, 2, 1]);
    t.deepEqual(await client.search([], 3), []);
    const refused = await t.throwsAsync(new HttpRetriever({ url: `${server.url}/retrieve`, retries: 3 }).search(['x'], 5000));
    t.true(isRexragError(refused, 'ERR_RETRIEVER'));
    t.regex(refused!.message, /refused the request: HTTP 400: "topk"/);
    t.is(events.filter((e) => e.type === 'request').length, 4, 'a 4xx is not retried');
  } finally {
    await server.close();
  }
});

/** A throwaway HTTP server on an ephemeral port whose handler gets the request number (1-based). */
async function scriptedServer(handler: (n: number, request: IncomingMessage, response: ServerResponse) => void) {
  let count = 0;
  const server = createServer((request, response) => {
    count++;
    const n = count;
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      (request as IncomingMessage & { body?: string }).body = body;
      handler(n, request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/retrieve`;
  return {
    url,
    count: () => count,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function answer(request: IncomingMessage, response: ServerResponse): void {
  const { queries } = JSON.parse((request as IncomingMessage & { body?: string }).body!) as { queries: string[] };
  response.writeHead(200, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify({ result: queries.map((q) => [{ document: { id: q, contents: `"${q}"\ntext` }, score: 0.5 }]) }));
}

test('the client retries 5xx with backoff and then succeeds', async (t) => {
  const server = await scriptedServer((n, request, response) => {
    if (n <= 2) {
      response.writeHead(503, { 'Content-Type': 'application/json' });
      response.end('{"error":"warming up"}');
    } else answer(request, response);
  });
  try {
    const retries: Array<{ attempt: number; delayMs: number; reason: string }> = [];
    const client = new HttpRetriever({ url: server.url, retries: 3, backoffMs: 20, onRetry: (info) => retries.push(info) });
    const started = performance.now();
    const result = await client.search(['a', 'b'], 1);
    t.deepEqual(result.map((hits) => hits[0]!.document.id), ['a', 'b']);
    t.is(server.count(), 3);
    t.deepEqual(retries.map((r) => r.attempt), [1, 2]);
    t.regex(retries[0]!.reason, /HTTP 503: warming up/);
    t.true(retries[0]!.delayMs >= 10 && retries[0]!.delayMs <= 20, `first delay ${retries[0]!.delayMs}`);
    t.true(retries[1]!.delayMs >= 20 && retries[1]!.delayMs <= 40, `second delay ${retries[1]!.delayMs}`);
    t.true(performance.now() - started >= 29);
  } finally {
    await server.close();
  }
});

test('after the last retry the client rejects with ERR_RETRIEVER naming the URL and the cause', async (t) => {
  const failing = await scriptedServer((_n, _request, response) => {
    response.writeHead(500);
    response.end('boom');
  });
  try {
    const error = await t.throwsAsync(new HttpRetriever({ url: failing.url, retries: 2, backoffMs: 1 }).search(['q'], 3));
    t.true(isRexragError(error, 'ERR_RETRIEVER'));
    t.true(error!.message.includes(failing.url), error!.message);
    t.regex(error!.message, /failed after 3 attempts: HTTP 500: "boom"/);
    t.is(failing.count(), 3);
  } finally {
    await failing.close();
  }

  const silent = await scriptedServer(() => { /* never answers */ });
  try {
    // A timeout long enough that a busy machine still delivers each attempt to the server before it fires.
    const error = await t.throwsAsync(new HttpRetriever({ url: silent.url, retries: 1, backoffMs: 1, timeoutMs: 1000 }).search(['q'], 3));
    t.true(isRexragError(error, 'ERR_RETRIEVER'));
    t.regex(error!.message, /failed after 2 attempts: timed out after 1000 ms/);
    t.is(silent.count(), 2);
  } finally {
    await silent.close();
  }

  const closed = await scriptedServer(() => {});
  await closed.close();
  const refused = await t.throwsAsync(new HttpRetriever({ url: closed.url, retries: 1, backoffMs: 1 }).search(['q'], 3));
  t.true(isRexragError(refused, 'ERR_RETRIEVER'));
  t.regex(refused!.message, /network error ECONNREFUSED/);

  const wrongShape = await scriptedServer((_n, _request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end('{"result": []}');
  });
  try {
    const error = await t.throwsAsync(new HttpRetriever({ url: wrongShape.url, backoffMs: 1 }).search(['q'], 3));
    t.true(isRexragError(error, 'ERR_RETRIEVER'));
    t.regex(error!.message, /expected \{"result": \[\.\.\.\]\} with 1 lists/);
  } finally {
    await wrongShape.close();
  }
  t.throws(() => new HttpRetriever({ url: 'ftp://x' }), { instanceOf: RangeError, message: /options\.url/ });
});

test('close() lets an in-flight request finish', async (t) => {
  let release!: () => void;
  let searching!: () => void;
  const started = new Promise<void>((resolve) => { searching = resolve; });
  const slow = {
    search: (queries: string[]) => new Promise<never[][]>((resolve) => {
      release = () => resolve(queries.map(() => []));
      searching();
    }),
  };
  const server = await startRetrievalServer(slow, { port: 0 });
  const pending = post(server.url, { queries: ['q'] });
  await started; // the request is in flight inside the server
  const closed = server.close();
  release();
  const { status, json } = await pending;
  t.is(status, 200);
  t.deepEqual(json, { result: [[]] });
  await closed;
  await t.throwsAsync(fetch(`${server.url}/health`), { instanceOf: TypeError });
});
