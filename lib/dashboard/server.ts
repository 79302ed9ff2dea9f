// The dashboard's HTTP server (node:http, 127.0.0.1 by default): the page and its scripts (Vega, Vega-Lite and
// vega-embed from node_modules, the shared chart modules from dist), the runs' metrics as server-sent events that
// follow metrics.jsonl as runs write it, the runs' configs and their sample trajectories. Drawing happens in
// the page (web/app.js).
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { RexragError } from '../errors.js';
import type { MetricLine } from '../report/metric-series.js';
import { readSamples, sampleSteps } from '../train/run-samples.js';
import { checkRunPaths, findRuns, type RunFolder } from './find-runs.js';
import { MetricsFollower } from './metrics-follower.js';

export interface DashboardOptions {
  /** Run folders, or folders searched for runs (any folder with a metrics.jsonl). */
  paths: string[];
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 6006. */
  port?: number;
  /** How often the metrics files are read for new lines, in ms (default 1000). Folders are searched every 5 polls. */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  host: string;
  port: number;
  /** The runs found so far. */
  runs(): RunFolder[];
  close(): Promise<void>;
}

/** What the server keeps of one run. */
interface RunState {
  folder: RunFolder;
  follower: MetricsFollower;
  lines: MetricLine[];
  config: unknown;
  sampleSteps: number[];
}

const WEB_DIR = fileURLToPath(new URL('../../../lib/dashboard/web/', import.meta.url));
const MODULE_DIR = fileURLToPath(new URL('../report/', import.meta.url));
/** The compiled modules the page imports (browser-safe: no Node imports). */
const BROWSER_MODULES = new Set(['chart-specs.js', 'metric-series.js', 'trajectory-html.js']);
const WEB_FILES: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', json: 'application/json' };

/** The browser builds of Vega, Vega-Lite and vega-embed, found next to the packages' entry points. */
function vendorFiles(): Record<string, string> {
  const builds: [string, string][] = [['vega', 'vega.min.js'], ['vega-lite', 'vega-lite.min.js'], ['vega-embed', 'vega-embed.min.js']];
  return Object.fromEntries(builds.map(([name, file]) => [`/vendor/${file}`, join(dirname(fileURLToPath(import.meta.resolve(name))), file)]));
}

async function readConfig(dir: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as unknown;
  } catch {
    return null; // not written yet, or being rewritten
  }
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, TYPES.json!, JSON.stringify(value));
}

/** Starts the dashboard over the runs at or below `paths`; resolves once listening. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const roots = await checkRunPaths(options.paths);
  const host = options.host ?? '127.0.0.1';
  const pollMs = options.pollMs ?? 1000;
  const vendor = vendorFiles();
  const runs = new Map<string, RunState>();
  const clients = new Set<ServerResponse>();

  const runList = () => [...runs.values()].map((r) => ({ name: r.folder.name, dir: r.folder.dir, config: r.config, sampleSteps: r.sampleSteps, lines: r.lines.length, skipped: r.follower.skipped }));
  const broadcast = (event: string, data: unknown, to: Iterable<ServerResponse> = clients) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of to) client.write(text);
  };

  /** Searches the folders again: new runs are added (an existing run keeps its state). */
  const rescan = async (): Promise<boolean> => {
    let changed = false;
    for (const folder of await findRuns(roots)) {
      const known = runs.get(folder.name);
      if (known && known.folder.dir === folder.dir) continue;
      runs.set(folder.name, { folder, follower: new MetricsFollower(join(folder.dir, 'metrics.jsonl')), lines: [], config: null, sampleSteps: [] });
      changed = true;
    }
    for (const run of runs.values()) {
      const config = run.config ?? (await readConfig(run.folder.dir));
      const steps = await sampleSteps(run.folder.dir);
      if (config !== run.config || steps.join() !== run.sampleSteps.join()) changed = true;
      run.config = config;
      run.sampleSteps = steps;
    }
    return changed;
  };

  /** Reads new metrics lines of every run and sends them to the pages. */
  const poll = async () => {
    for (const run of runs.values()) {
      const { lines, reset } = await run.follower.poll();
      if (reset) run.lines = lines;
      else run.lines.push(...lines);
      if (reset || lines.length > 0) broadcast('metrics', { run: run.folder.name, reset, lines });
    }
  };

  let polls = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const tick = async () => {
    try {
      if (polls++ % 5 === 0 && (await rescan())) broadcast('runs', runList());
      await poll();
    } catch {
      // A file vanished between two calls; the next tick sees the new state.
    }
    if (!closed) timer = setTimeout(() => void tick(), pollMs);
  };
  await rescan();
  await poll();

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://dashboard');
    if (request.method !== 'GET' && request.method !== 'HEAD') return sendJson(response, 405, { error: `${request.method} is not allowed; the dashboard only answers GET` });
    const path = url.pathname;
    if (path in WEB_FILES) {
      const file = WEB_FILES[path]!;
      return send(response, 200, TYPES[file.split('.').pop()!]!, await readFile(join(WEB_DIR, file)));
    }
    if (path in vendor) return send(response, 200, TYPES.js!, await readFile(vendor[path]!));
    if (path.startsWith('/modules/') && BROWSER_MODULES.has(path.slice('/modules/'.length))) {
      return send(response, 200, TYPES.js!, await readFile(join(MODULE_DIR, path.slice('/modules/'.length))));
    }
    if (path === '/api/runs') return sendJson(response, 200, runList());
    if (path === '/api/metrics' || path === '/api/samples') {
      const run = runs.get(url.searchParams.get('run') ?? '');
      if (!run) return sendJson(response, 404, { error: `no run named ${JSON.stringify(url.searchParams.get('run'))}` });
      if (path === '/api/metrics') return sendJson(response, 200, { run: run.folder.name, lines: run.lines, skipped: run.follower.skipped });
      const step = Number(url.searchParams.get('step'));
      if (!Number.isInteger(step) || step < 0) return sendJson(response, 400, { error: 'step must be a non-negative integer' });
      try {
        return sendJson(response, 200, await readSamples(run.folder.dir, step));
      } catch (error) {
        return sendJson(response, 404, { error: (error as Error).message });
      }
    }
    if (path === '/api/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      clients.add(response);
      request.on('close', () => clients.delete(response));
      // A page that (re)connects gets everything so far, then only what is new.
      broadcast('runs', runList(), [response]);
      for (const run of runs.values()) broadcast('metrics', { run: run.folder.name, reset: true, lines: run.lines }, [response]);
      return;
    }
    return sendJson(response, 404, { error: `nothing at ${path}` });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: (error as Error).message });
      else response.end();
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      rejectListen(error.code === 'EADDRINUSE'
        ? new RexragError(`port ${options.port ?? 6006} on ${host} is in use; pass another --port (0 picks a free one)`, 'ERR_INVALID_ARG')
        : new RexragError(`cannot listen on ${host}:${options.port ?? 6006}: ${error.message}`, 'ERR_IO', { cause: error }));
    });
    server.listen(options.port ?? 6006, host, () => resolveListen());
  });
  timer = setTimeout(() => void tick(), pollMs);
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    host,
    port,
    runs: () => [...runs.values()].map((r) => r.folder),
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const client of clients) client.end();
      clients.clear();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
