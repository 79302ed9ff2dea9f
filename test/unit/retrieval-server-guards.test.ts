// The retrieval server on a shared machine: the queries x topk budget, JSON content type, Host/Origin checks,
// no CORS, the bearer token, timeouts that cut trickling clients, aborted uploads as client errors, and the
// HTTP client's response-size cap. Everything runs against a counting in-memory retriever on 127.0.0.1.
import { createServer, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { HttpRetriever } from '../../lib/retrieval/http-client.js';
import { bearerMatches, defaultAllowedHosts, hostOfHeader, hostProblem, isJsonContentType } from '../../lib/retrieval/request-guards.js';
import { startRetrievalServer, type RetrievalServerEvent } from '../../lib/retrieval/server.js';
import { FakeRetriever } from '../helpers/fake-retriever.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/** One request with full control over the headers (fetch would not let us set Host). */
function raw(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: options.method ?? 'POST', path: options.path ?? '/retrieve', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = { 'Content-Type': 'application/json' };

test('a request asking for more than maxResults hits gets 400 before any search, and the server keeps serving', async (t) => {
  const retriever = new FakeRetriever();
  const server = await startRetrievalServer(retriever, { port: 0 });
  try {
    // The review's memory bomb: 4096 queries x topk 1000, within the per-field limits, in a 40 KB body.
    const body = JSON.stringify({ queries: Array.from({ length: 4096 }, (_, i) => `q${i}`), topk: 1000 });
    const bomb = await raw(server.url, { headers: json, body });
    t.is(bomb.status, 400);
    t.regex(bomb.json.error, /4096 queries x topk 1000 = 4096000 hits; at most 16384/);
    t.is(retriever.calls.length, 0, 'refused before searching');
    const fine = await raw(server.url, { headers: json, body: JSON.stringify({ queries: ['a', 'b'], topk: 3 }) });
    t.is(fine.status, 200);
    t.is(fine.json.result.length, 2);
  } finally {
    await server.close();
  }
  const small = await startRetrievalServer(new FakeRetriever(), { port: 0, maxResults: 10 });
  try {
    t.is((await raw(small.url, { headers: json, body: JSON.stringify({ queries: ['a', 'b', 'c', 'd'], topk: 3 }) })).status, 400);
    t.is((await raw(small.url, { headers: json, body: JSON.stringify({ queries: ['a', 'b', 'c'], topk: 3 }) })).status, 200);
  } finally {
    await small.close();
  }
});

test('POST /retrieve needs Content-Type application/json (a cross-site form or text/plain POST is refused)', async (t) => {
  const retriever = new FakeRetriever();
  const server = await startRetrievalServer(retriever, { port: 0 });
  try {
    const body = JSON.stringify({ queries: ['x'] });
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/jsonp']) {
      const answer = await raw(server.url, { headers: { 'Content-Type': type }, body });
      t.is(answer.status, 415, type);
      t.regex(answer.json.error, /Content-Type: application\/json/);
    }
    t.is((await raw(server.url, { body })).status, 415, 'no content type');
    t.is(retriever.calls.length, 0);
    t.is((await raw(server.url, { headers: { 'Content-Type': 'application/json; charset=utf-8' }, body })).status, 200);
  } finally {
    await server.close();
  }
});

test('Host and Origin must name this server (DNS rebinding, other sites); no CORS headers are ever sent', async (t) => {
  const server = await startRetrievalServer(new FakeRetriever(), { port: 0 });
  const body = JSON.stringify({ queries: ['x'] });
  try {
    const port = server.port;
    const rebinding = await raw(server.url, { headers: { ...json, Host: `attacker.example:${port}` }, body });
    t.is(rebinding.status, 403);
    t.regex(rebinding.json.error, /Host "attacker\.example:\d+" is not one this server answers to/);
    t.is((await raw(server.url, { method: 'GET', path: '/health', headers: { Host: 'attacker.example' } })).status, 403, '/health too');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      t.is((await raw(server.url, { headers: { ...json, Host: host }, body })).status, 200, host);
    }
    const crossSite = await raw(server.url, { headers: { ...json, Origin: 'https://attacker.example' }, body });
    t.is(crossSite.status, 403);
    t.regex(crossSite.json.error, /cross-origin/);
    t.is((await raw(server.url, { headers: { ...json, Origin: `http://localhost:${port}` }, body })).status, 200, 'same-host origin');
    const preflight = await raw(server.url, { method: 'OPTIONS', headers: { Origin: `http://127.0.0.1:${port}`, 'Access-Control-Request-Method': 'POST' } });
    t.is(preflight.status, 405);
    for (const answer of [rebinding, crossSite, preflight]) {
      t.deepEqual(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-')), []);
    }
  } finally {
    await server.close();
  }

  const named = await startRetrievalServer(new FakeRetriever(), { port: 0, allowedHosts: ['retriever.internal'] });
  try {
    t.is((await raw(named.url, { headers: { ...json, Host: 'retriever.internal:80' }, body })).status, 200);
    t.is((await raw(named.url, { headers: { ...json, Host: 'other.internal' }, body })).status, 403);
  } finally {
    await named.close();
  }
  const open = await startRetrievalServer(new FakeRetriever(), { port: 0, allowedHosts: ['*'] });
  try {
    t.is((await raw(open.url, { headers: { ...json, Host: 'anything.example' }, body })).status, 200);
  } finally {
    await open.close();
  }
});

test('with a token every request needs Authorization: Bearer <token>; HttpRetriever sends it', async (t) => {
  const retriever = new FakeRetriever();
  const server = await startRetrievalServer(retriever, { port: 0, token: 's3cret-token' });
  try {
    const body = JSON.stringify({ queries: ['x'] });
    const missing = await raw(server.url, { headers: json, body });
    t.is(missing.status, 401);
    t.is(missing.headers['www-authenticate'], 'Bearer');
    t.is((await raw(server.url, { headers: { ...json, Authorization: 'Bearer wrong' }, body })).status, 401);
    t.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 401);
    t.is(retriever.calls.length, 0);
    t.is((await raw(server.url, { headers: { ...json, Authorization: 'Bearer s3cret-token' }, body })).status, 200);
    const hits = await new HttpRetriever({ url: server.url, token: 's3cret-token' }).search(['q'], 2);
    t.is(hits[0]!.length, 2);
    const refused = await t.throwsAsync(new HttpRetriever({ url: server.url, retries: 2 }).search(['q'], 2));
    t.true(isRexragError(refused, 'ERR_RETRIEVER'));
    t.regex(refused!.message, /HTTP 401/);
  } finally {
    await server.close();
  }
});

/** Opens a raw TCP connection to `url`; resolves `closed` when the server closes or resets it. */
async function rawSocket(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let data = '';
  socket.on('data', (chunk) => (data += chunk));
  socket.on('error', () => {}); // a reset is one way of being cut
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => data, closed };
}

test('a client trickling its headers or its body is cut by the timeouts', async (t) => {
  const events: RetrievalServerEvent[] = [];
  const server = await startRetrievalServer(new FakeRetriever(), { port: 0, headersTimeoutMs: 200, requestTimeoutMs: 400, onEvent: (e) => events.push(e) });
  const timers: NodeJS.Timeout[] = [];
  try {
    // Headers, one byte every 50 ms, never finished.
    const slowHeaders = await rawSocket(server.url);
    const header = `POST /retrieve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Padding: ${'a'.repeat(10_000)}`;
    let i = 0;
    timers.push(setInterval(() => { if (!slowHeaders.socket.destroyed) slowHeaders.socket.write(header[i++ % header.length]!); }, 50));
    // Complete headers, then a body trickling one byte every 50 ms.
    const slowBody = await rawSocket(server.url);
    slowBody.socket.write('POST /retrieve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    timers.push(setInterval(() => { if (!slowBody.socket.destroyed) slowBody.socket.write(' '); }, 50));
    // Without the timeouts both would stay open as long as they trickle; the guard only stops a hung test.
    const guard = new Promise<'open'>((resolve) => timers.push(setTimeout(() => resolve('open'), 20_000)));
    t.not(await Promise.race([slowHeaders.closed.then(() => 'closed' as const), guard]), 'open', 'slow headers cut');
    t.not(await Promise.race([slowBody.closed.then(() => 'closed' as const), guard]), 'open', 'slow body cut');
    t.regex(slowHeaders.received() + slowBody.received(), /408|^$/, 'a 408 when anything is answered');
    t.true(events.some((e) => e.type === 'client-error'), 'reported as client errors');
    t.false(events.some((e) => e.type === 'error'), 'never as server errors');
    t.is((await raw(server.url, { headers: json, body: JSON.stringify({ queries: ['x'] }) })).status, 200, 'still serving');
  } finally {
    timers.forEach((timer) => clearTimeout(timer));
    await server.close(100);
  }
});

test('a client aborting mid-body is a client error (logged as such), not a 500 with a stack', async (t) => {
  const events: RetrievalServerEvent[] = [];
  const server = await startRetrievalServer(new FakeRetriever(), { port: 0, onEvent: (e) => events.push(e) });
  try {
    const client = await rawSocket(server.url);
    client.socket.write('POST /retrieve HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"queries": [');
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.socket.destroy();
    await client.closed;
    for (let wait = 0; wait < 200 && !events.some((e) => e.type === 'request'); wait++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.false(events.some((e) => e.type === 'error'), 'no server error');
    const clientErrors = events.filter((e) => e.type === 'client-error') as Array<{ message: string }>;
    t.is(clientErrors.length, 1, JSON.stringify(clientErrors));
    t.regex(clientErrors[0]?.message ?? '', /POST \/retrieve: the client closed the connection before sending its whole body/);
    const logged = events.find((e) => e.type === 'request') as { status: number } | undefined;
    t.is(logged?.status, 499);
    t.is((await raw(server.url, { headers: json, body: JSON.stringify({ queries: ['x'] }) })).status, 200, 'still serving');
  } finally {
    await server.close();
  }
});

test('HttpRetriever refuses an answer larger than maxResponseBytes, declared or streamed, without retrying', async (t) => {
  let count = 0;
  const huge = JSON.stringify({ result: [[{ document: { id: '1', contents: 'x'.repeat(5000) }, score: 1 }]] });
  const server = createServer((request, response) => {
    count++;
    request.resume();
    request.on('end', () => {
      if (request.url === '/chunked') {
        response.writeHead(200, { 'Content-Type': 'application/json' }); // no Content-Length: chunked
        response.write(huge.slice(0, 3000));
        response.end(huge.slice(3000));
      } else {
        response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(huge) });
        response.end(huge);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const path of ['/retrieve', '/chunked']) {
      count = 0;
      const error = await t.throwsAsync(new HttpRetriever({ url: `${base}${path}`, maxResponseBytes: 1000, retries: 3, backoffMs: 1 }).search(['q'], 1));
      t.true(isRexragError(error, 'ERR_RETRIEVER'), path);
      t.regex(error!.message, /exceeds 1000 bytes \(HttpRetriever maxResponseBytes\)/, path);
      t.is(count, 1, `${path}: not retried`);
    }
    const fine = await new HttpRetriever({ url: `${base}/retrieve` }).search(['q'], 1);
    t.is(fine[0]![0]!.document.contents.length, 5000);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('guard helpers: host parsing, default names, bearer comparison, JSON content types', (t) => {
  t.is(hostOfHeader('Example.ORG:8000'), 'example.org');
  t.is(hostOfHeader('[::1]:8000'), '::1');
  t.is(hostOfHeader('a b'), undefined);
  t.is(hostOfHeader(undefined), undefined);
  t.true(defaultAllowedHosts('127.0.0.1').has('localhost'));
  t.false(defaultAllowedHosts('127.0.0.1').has('example.org'));
  t.true(defaultAllowedHosts('0.0.0.0').has('127.0.0.1'));
  t.is(hostProblem({ host: 'x' }, undefined), undefined);
  t.regex(hostProblem({ host: 'x' }, new Set(['y']))!, /Host "x"/);
  t.regex(hostProblem({ host: 'y', origin: 'null' }, new Set(['y']))!, /cross-origin/);
  t.true(bearerMatches('Bearer abc', 'abc'));
  t.true(bearerMatches('bearer abc ', 'abc'));
  t.false(bearerMatches('Bearer abcd', 'abc'));
  t.false(bearerMatches('Basic abc', 'abc'));
  t.false(bearerMatches(undefined, 'abc'));
  t.true(isJsonContentType('application/json'));
  t.true(isJsonContentType('Application/JSON; charset=utf-8'));
  t.false(isJsonContentType('application/json-patch+json'));
  t.false(isJsonContentType(undefined));
});
