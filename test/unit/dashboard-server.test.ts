// The dashboard server over two fixture runs: the run list, metrics, samples, the page's scripts from
// node_modules and dist, server-sent events that carry appended lines, and bad requests.
import { get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { startDashboard } from '../../lib/dashboard/server.js';
import { appendMetrics, fixtureLine, writeFixtureRuns } from '../helpers/dashboard-runs.js';
import { runCli } from '../helpers/run-cli.js';

/** Reads server-sent events until `until` says enough (or 10 s pass, then fails). */
function readEvents(url: string, until: (events: { event: string; data: any }[]) => boolean, onOpen?: () => void): Promise<{ event: string; data: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: any }[] = [];
    const request = get(url, (response) => {
      let buffer = '';
      onOpen?.();
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          events.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
        }
        if (until(events)) {
          clearTimeout(timer);
          request.destroy();
          resolve(events);
        }
      });
    });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(events.map((e) => e.event))}`));
    }, 10_000);
    request.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
  });
}

test('serves runs, metrics, samples, scripts and live events', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'rexrag-dash-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const [grpo] = writeFixtureRuns(root, 5);
  const dashboard = await startDashboard({ paths: [root], port: 0, pollMs: 50 });
  t.teardown(() => dashboard.close());
  t.regex(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const runs = (await (await fetch(`${dashboard.url}/api/runs`)).json()) as { name: string; config: { algorithm: string }; sampleSteps: number[]; lines: number }[];
  t.deepEqual(runs.map((r) => [r.name, r.config.algorithm, r.sampleSteps, r.lines]), [['grpo', 'grpo', [], 5], ['rex-rag', 'rex-rag', [10], 5]]);
  const metrics = (await (await fetch(`${dashboard.url}/api/metrics?run=grpo`)).json()) as { lines: { step: number }[] };
  t.deepEqual(metrics.lines.map((l) => l.step), [1, 2, 3, 4, 5]);
  const samples = (await (await fetch(`${dashboard.url}/api/samples?run=rex-rag&step=10`)).json()) as { isProbe: boolean; segments: { kind: string }[] }[];
  t.true(samples[0]!.isProbe);
  t.true(samples[0]!.segments.some((s) => s.kind === 'probe-prompt'));

  for (const path of ['/', '/app.js', '/style.css', '/vendor/vega.min.js', '/vendor/vega-lite.min.js', '/vendor/vega-embed.min.js', '/modules/chart-specs.js', '/modules/metric-series.js', '/modules/trajectory-html.js']) {
    const response = await fetch(`${dashboard.url}${path}`);
    t.is(response.status, 200, path);
    const text = await response.text();
    if (path.startsWith('/modules/')) t.notRegex(text, /from 'node:|from "node:|require\(/, `${path} must load in a browser`);
  }
  const status = async (path: string) => (await fetch(`${dashboard.url}${path}`)).status;
  t.is(await status('/modules/render-figure.js'), 404, 'only browser-safe modules are served');
  t.is(await status('/modules/..%2F..%2Fpackage.json'), 404);
  t.is(await status('/api/metrics?run=nope'), 404);
  t.is(await status('/api/samples?run=rex-rag&step=-1'), 400);
  t.is(await status('/api/samples?run=rex-rag&step=11'), 404);
  t.is((await fetch(`${dashboard.url}/api/runs`, { method: 'POST' })).status, 405);

  // Live: the snapshot first, then a line appended (in two writes, the first a torn half) arrives alone.
  const events = await readEvents(`${dashboard.url}/api/events`, (got) => got.some((e) => e.event === 'metrics' && !e.data.reset), () => {
    setTimeout(() => {
      const line = `${JSON.stringify(fixtureLine('grpo', 6))}\n`;
      appendMetrics(grpo!, line.slice(0, 20));
      setTimeout(() => appendMetrics(grpo!, line.slice(20)), 200);
    }, 200);
  });
  t.is(events[0]!.event, 'runs');
  const snapshot = events.filter((e) => e.event === 'metrics' && e.data.reset);
  t.deepEqual(snapshot.map((e) => [e.data.run, e.data.lines.length]), [['grpo', 5], ['rex-rag', 5]]);
  const live = events.filter((e) => e.event === 'metrics' && !e.data.reset);
  t.deepEqual(live.map((e) => [e.data.run, e.data.lines.map((l: { step: number }) => l.step)]), [['grpo', [6]]]);
});

test('rexrag dashboard: usage errors', async (t) => {
  const none = await runCli(['dashboard']);
  t.is(none.code, 2);
  t.regex(none.stderr, /give at least one run folder/);
  const missing = await runCli(['dashboard', '/nonexistent/runs']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /\/nonexistent\/runs does not exist/);
  const port = await runCli(['dashboard', '.', '--port', '70000']);
  t.is(port.code, 2);
  t.regex(port.stderr, /--port must be <= 65535/);
  const help = await runCli(['dashboard', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /usage: rexrag dashboard RUN_DIR/);
});
