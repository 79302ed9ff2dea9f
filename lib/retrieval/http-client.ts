// A Retriever over HTTP for Search-R1's retrieval API (this package's server or Search-R1's own): batching,
// a timeout per request, and retries with exponential backoff and jitter on network errors, timeouts and 5xx.
// After the last retry it rejects with ERR_RETRIEVER; it never returns empty results in place of a failure.
// Answers larger than `maxResponseBytes` are refused while they arrive, so a server cannot exhaust our memory.
import { RexragError } from '../errors.js';
import { describe, expectArray, expectInteger, expectObject, expectString } from '../validate.js';
import type { CorpusDocument, Retriever, SearchHit } from './types.js';

export interface HttpRetrieverOptions {
  /** The endpoint, e.g. http://127.0.0.1:8000/retrieve (Search-R1's `retriever.url`); a bare origin gets /retrieve. */
  url: string;
  /** Timeout of one HTTP request, in ms (AbortSignal.timeout). Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt of a request. Default 3. */
  retries?: number;
  /** Base of the exponential backoff, in ms. Default 500. */
  backoffMs?: number;
  /** Cap of one backoff delay, in ms. Default 10 000. */
  maxBackoffMs?: number;
  /** Queries per HTTP request; longer lists are split. Default 512 (Search-R1's server batch). */
  batchSize?: number;
  /** Largest answer read, in bytes; a larger one is refused (not retried) as soon as it exceeds this. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Sent as `Authorization: Bearer <token>` (a server started with --token / REXRAG_TOKEN needs it). */
  token?: string;
  /** Called before each retry (for logs and metrics). */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A failure worth another attempt (network error, timeout, 5xx) or not (4xx, malformed answer). */
class AttemptError extends Error {
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Retriever backed by a Search-R1-compatible `POST /retrieve` endpoint. */
export class HttpRetriever implements Retriever {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly batchSize: number;
  private readonly fetchImpl: typeof fetch;
  private readonly onRetry: HttpRetrieverOptions['onRetry'];
  private readonly maxResponseBytes: number;
  private readonly token: string | undefined;

  constructor(options: HttpRetrieverOptions) {
    expectObject(options, 'options');
    this.url = endpointUrl(expectString(options.url, 'options.url', { nonEmpty: true }));
    this.timeoutMs = options.timeoutMs === undefined ? 30_000 : expectInteger(options.timeoutMs, 'options.timeoutMs', { min: 1 });
    this.retries = options.retries === undefined ? 3 : expectInteger(options.retries, 'options.retries', { min: 0, max: 100 });
    this.backoffMs = options.backoffMs === undefined ? 500 : expectInteger(options.backoffMs, 'options.backoffMs', { min: 0 });
    this.maxBackoffMs = options.maxBackoffMs === undefined ? 10_000 : expectInteger(options.maxBackoffMs, 'options.maxBackoffMs', { min: 0 });
    this.batchSize = options.batchSize === undefined ? 512 : expectInteger(options.batchSize, 'options.batchSize', { min: 1 });
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError(`options.fetch must be a function, got ${describe(options.fetch)}`);
    this.fetchImpl = options.fetch ?? fetch;
    this.onRetry = options.onRetry;
    this.maxResponseBytes = options.maxResponseBytes === undefined ? 64 << 20 : expectInteger(options.maxResponseBytes, 'options.maxResponseBytes', { min: 1 });
    this.token = options.token === undefined ? undefined : expectString(options.token, 'options.token', { nonEmpty: true });
  }

  /** Sends the queries in batches of `batchSize` (one after another) and concatenates the results in order. */
  async search(queries: string[], topk: number): Promise<SearchHit[][]> {
    expectArray(queries, 'queries');
    queries.forEach((query, i) => expectString(query, `queries[${i}]`));
    expectInteger(topk, 'topk', { min: 1 });
    const results: SearchHit[][] = [];
    for (let start = 0; start < queries.length; start += this.batchSize) {
      results.push(...await this.searchBatch(queries.slice(start, start + this.batchSize), topk));
    }
    return results;
  }

  /**
   * One batch with retries. Attempt n (0-based) that fails retryably waits
   *   delay_n = min(maxBackoffMs, backoffMs · 2^n) · (1 + U)/2,  U ~ uniform[0, 1)   ("equal jitter")
   * before the next; after `retries` retries the last cause is reported in an ERR_RETRIEVER RexragError.
   */
  private async searchBatch(queries: string[], topk: number): Promise<SearchHit[][]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(queries, topk);
      } catch (error) {
        const failure = error instanceof AttemptError ? error : new AttemptError(String(error), false, { cause: error });
        if (!failure.retryable) {
          throw new RexragError(`retrieval server ${this.url} refused the request: ${failure.message}`, 'ERR_RETRIEVER', { cause: failure.cause ?? failure });
        }
        if (attempt >= this.retries) {
          throw new RexragError(`retrieval server ${this.url} failed after ${attempt + 1} attempt${attempt === 0 ? '' : 's'}: ${failure.message}`, 'ERR_RETRIEVER', { cause: failure.cause ?? failure });
        }
        const delayMs = Math.round(Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt) * (1 + Math.random()) / 2);
        this.onRetry?.({ url: this.url, attempt: attempt + 1, delayMs, reason: failure.message });
        await new Promise((resolveDelay) => setTimeout(resolveDelay, delayMs));
      }
    }
  }

  private async attempt(queries: string[], topk: number): Promise<SearchHit[][]> {
    let text: string;
    let status: number;
    try {
      const response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(this.token === undefined ? {} : { Authorization: `Bearer ${this.token}` }) },
        body: JSON.stringify({ queries, topk, return_scores: true }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      text = await readCapped(response, this.maxResponseBytes);
    } catch (error) {
      if (error instanceof AttemptError) throw error;
      throw new AttemptError(describeFetchError(error, this.timeoutMs), true, { cause: error });
    }
    if (status >= 500) throw new AttemptError(`HTTP ${status}: ${errorMessage(text)}`, true);
    if (status < 200 || status >= 300) throw new AttemptError(`HTTP ${status}: ${errorMessage(text)}`, false);
    return parseRetrieveResponse(text, queries.length);
  }
}

/** The body as UTF-8 text, refused (not retryable) once it exceeds `limit` bytes; the rest is never read. */
async function readCapped(response: Response, limit: number): Promise<string> {
  const tooLarge = (declared?: number) => new AttemptError(
    `the response${declared === undefined ? '' : ` (${declared} bytes)`} exceeds ${limit} bytes (HttpRetriever maxResponseBytes)`, false);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    throw tooLarge(declared);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses `{"result": [[{"document": {...}, "score": s}, ...], ...]}` with one list per query. */
function parseRetrieveResponse(text: string, expectedLists: number): SearchHit[][] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AttemptError(`the response is not JSON: ${snippet(text)}`, false);
  }
  const result = (value as { result?: unknown } | null)?.result;
  if (!Array.isArray(result) || result.length !== expectedLists) {
    throw new AttemptError(`expected {"result": [...]} with ${expectedLists} lists, got ${snippet(text)}`, false);
  }
  return result.map((list, q) => {
    if (!Array.isArray(list)) throw new AttemptError(`result[${q}] is not a list`, false);
    return list.map((hit, i) => toSearchHit(hit, `result[${q}][${i}]`));
  });
}

function toSearchHit(hit: unknown, where: string): SearchHit {
  const { document, score } = (hit ?? {}) as { document?: unknown; score?: unknown };
  if (typeof document !== 'object' || document === null || typeof (document as { contents?: unknown }).contents !== 'string') {
    throw new AttemptError(`${where} has no document with string "contents"`, false);
  }
  if (typeof score !== 'number' || !Number.isFinite(score)) throw new AttemptError(`${where} has no numeric "score"`, false);
  const row = document as Record<string, unknown>;
  // Search-R1 rows have string ids; other servers may send numbers or none.
  const id = typeof row.id === 'string' ? row.id : row.id === undefined || row.id === null ? '' : String(row.id);
  return { document: { ...row, id, contents: row.contents as string } as CorpusDocument, score };
}

/** The /retrieve endpoint for `url`: kept as given when it has a path, `${origin}/retrieve` otherwise. */
function endpointUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`options.url must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`options.url must be an http(s) URL, got ${JSON.stringify(url)}`);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/retrieve';
  return parsed.toString();
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return `network error ${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  return `network error (${error instanceof Error ? error.message : String(error)})`;
}

function errorMessage(text: string): string {
  try {
    const value = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof value.error === 'string') return value.error;
    if (value.detail !== undefined) return JSON.stringify(value.detail); // FastAPI's error shape
  } catch {
    // not JSON: show the start of the body
  }
  return snippet(text);
}

function snippet(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
