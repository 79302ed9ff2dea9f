// Raw HTTP requests to the retrieval server, mutated in method, path, headers (Host, Origin, content type,
// length, encoding, authorization) and body (valid requests with odd values, broken JSON, non-UTF-8). Raw bytes
// over a socket, so malformed requests reach the server as a client could send them.
import { connect } from 'node:net';

import { oddValue, type Draw } from './fuzz-random.js';

export interface HttpCase {
  raw: Buffer;
  description: string;
}

/** A request for the server at `port` (its token, when it has one, sent most of the time). */
export function makeHttpCase(draw: Draw, port: number, token: string): HttpCase {
  const method = draw.pick(['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'FOO', 'post']);
  const path = draw.pick(['/retrieve', '/retrieve', '/health', '/', '/retrieve?x=1', '//retrieve', '/%00', `/${'a'.repeat(3000)}`, '*']);
  let body: Buffer;
  const request: Record<string, unknown> = { queries: ['a query', 'another'], topk: 2, return_scores: true };
  switch (draw.int(5)) {
    case 0: body = Buffer.from(JSON.stringify(request)); break;
    case 1: request[draw.pick(['queries', 'topk', 'return_scores', 'extra'])] = oddValue(draw); body = Buffer.from(JSON.stringify(request)); break;
    case 2: request.queries = Array.from({ length: draw.pick([0, 1, 5000]) }, () => oddValue(draw)); body = Buffer.from(JSON.stringify(request)); break;
    case 3: body = Buffer.from(draw.pick(['', '{', 'null', '[]', '"x"', '{"queries": "a"}', '{"queries": ["a"], "topk": 1e400}', `${'['.repeat(3000)}`])); break;
    default: body = Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3]);
  }
  const headers: string[] = [];
  const host = draw.pick([`127.0.0.1:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, 'evil.example', '', undefined]);
  if (host !== undefined) headers.push(`Host: ${host}`);
  const type = draw.pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined, 'APPLICATION/JSON', 'application/jsonx']);
  if (type !== undefined) headers.push(`Content-Type: ${type}`);
  if (draw.chance(0.85)) headers.push(`Authorization: Bearer ${draw.chance(0.9) ? token : 'wrong'}`);
  if (draw.chance(0.15)) headers.push(`Origin: ${draw.pick(['http://evil.example', `http://127.0.0.1:${port}`, 'null'])}`);
  const chunked = draw.chance(0.1);
  if (chunked) {
    headers.push('Transfer-Encoding: chunked');
    body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(draw.chance(0.5) ? '\r\n0\r\n\r\n' : '\r\nzz\r\n')]);
  } else {
    // A length shorter than the body, or missing; never longer (the server would wait for bytes that never come).
    const length = draw.pick([body.length, body.length, body.length, Math.floor(body.length / 2), undefined]);
    if (length !== undefined) headers.push(`Content-Length: ${length}`);
  }
  if (draw.chance(0.05)) headers.push(`X-Big: ${'b'.repeat(draw.pick([100, 20_000]))}`);
  if (draw.chance(0.05)) headers.push('Bad Header Line');
  const head = `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\nConnection: close\r\n\r\n`;
  return { raw: Buffer.concat([Buffer.from(head, 'latin1'), body]), description: `${method} ${path.slice(0, 30)} [${headers.map((h) => h.slice(0, 40)).join('; ')}] body ${body.subarray(0, 60).toString('latin1')}` };
}

/** Sends `raw` and resolves with the status of the first response (undefined: closed without one). */
export function sendRaw(port: number, raw: Buffer, timeoutMs: number): Promise<number | undefined | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = (value: number | undefined | 'timeout') => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('error', () => done(statusOf(received)));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const status = statusOf(received);
      if (status !== undefined) done(status);
    });
    socket.on('close', () => done(statusOf(received)));
    socket.write(raw);
  });
}

function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3}) /.exec(text);
  return match ? Number(match[1]) : undefined;
}
