// The CLI end to end in child processes: `rexrag index` then `rexrag serve`, queried over HTTP, then stopped
// with SIGTERM; plus the CLI's errors for bad corpora and unavailable embedders.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import test from 'ava';

import { cliPath, packageRoot } from '../helpers/paths.js';
import { generateCorpus, removeTemporaryFolders, temporaryFolder, writeJsonl } from '../helpers/retrieval-corpus.js';
import { runCli } from '../helpers/run-cli.js';

test.after.always(removeTemporaryFolders);

test('rexrag index then rexrag serve answer /retrieve and /health, and serve exits cleanly on SIGTERM', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(300, { seed: 13 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', [...rows.slice(0, 100), '{broken', ...rows.slice(100)]);
  const out = join(folder, 'index');
  const built = await runCli(['index', '--corpus', corpus, '--out', out, '--on-malformed', 'skip', '--chunk-size', '64']);
  t.is(built.code, 0, built.stderr);
  const summary = JSON.parse(built.stdout) as { documents: number; skippedLines: number; kind: string };
  t.is(summary.documents, 300);
  t.is(summary.skippedLines, 1);
  t.regex(built.stderr, /skipped .*corpus\.jsonl line 101: invalid JSON/);
  t.notRegex(built.stderr, /\[#/, 'no progress bar when stderr is not a TTY');

  const child = spawn(process.execPath, [cliPath, 'serve', '--index', out, '--port', '0', '--topk', '2'], { cwd: packageRoot });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('close', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    const response = await fetch(`${url}/retrieve`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ queries: [rows[200]!.contents], return_scores: true }) });
    t.is(response.status, 200);
    const { result } = await response.json() as { result: Array<Array<{ document: { id: string }; score: number }>> };
    t.is(result[0]!.length, 2, '--topk sets the default');
    t.is(result[0]![0]!.document.id, 'doc-200');
    const health = await (await fetch(`${url}/health`)).json() as { documents: number };
    t.is(health.documents, 300);
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0, stderr);
  t.regex(stderr, /SIGTERM, closing/);
});

test('rexrag index reports bad corpora, refused embedders and bad flags clearly', async (t) => {
  const folder = await temporaryFolder();
  const corpus = await writeJsonl(folder, 'corpus.jsonl', [{ id: 'a', contents: '"A"\nx' }, { id: 'b' }]);
  const failed = await runCli(['index', '--corpus', corpus, '--out', join(folder, 'i1')]);
  t.is(failed.code, 1);
  t.regex(failed.stderr, /corpus\.jsonl line 2: missing "contents"/);
  const e5 = await runCli(['index', '--corpus', corpus, '--out', join(folder, 'i2'), '--embedder', 'e5:/models/e5-base-v2']);
  t.is(e5.code, 1);
  t.regex(e5.stderr, /\/models\/e5-base-v2\/config\.json is missing/);
  const usage = await runCli(['index', '--corpus', corpus, '--out', join(folder, 'i3'), '--resume', '--restart']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /--resume and --restart/);
  const missing = await runCli(['serve', '--index', join(folder, 'nothing-here'), '--port', '0']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /not a complete rexrag index: manifest\.json is missing/);
});

test('rexrag serve with REXRAG_TOKEN refuses requests without the bearer token', async (t) => {
  const folder = await temporaryFolder();
  const { rows } = generateCorpus(50, { seed: 14 });
  const corpus = await writeJsonl(folder, 'corpus.jsonl', rows);
  const out = join(folder, 'index');
  t.is((await runCli(['index', '--corpus', corpus, '--out', out, '--ann', 'flat'])).code, 0);
  const child = spawn(process.execPath, [cliPath, 'serve', '--index', out, '--port', '0'], { cwd: packageRoot, env: { ...process.env, REXRAG_TOKEN: 'tok-123' } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 15_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.on('close', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    const body = JSON.stringify({ queries: [rows[3]!.contents] });
    const refused = await fetch(`${url}/retrieve`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    t.is(refused.status, 401);
    const allowed = await fetch(`${url}/retrieve`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tok-123' }, body });
    t.is(allowed.status, 200);
    t.notRegex(stderr, /warning/, 'no warning on loopback');
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0, stderr);
});
