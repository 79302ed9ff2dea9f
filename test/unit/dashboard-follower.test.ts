// Following a metrics.jsonl that is being written: torn last lines wait, bad lines are skipped, a rewritten
// file starts over; and finding runs below the folders given.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { checkRunPaths, findRuns } from '../../lib/dashboard/find-runs.js';
import { MetricsFollower, parseMetricLine } from '../../lib/dashboard/metrics-follower.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-follow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('parseMetricLine keeps finite numbers of an object with a step', (t) => {
  t.deepEqual(parseMetricLine('{"step": 2, "a/b": 0.5, "name": "x", "c": null}'), { step: 2, 'a/b': 0.5 });
  t.is(parseMetricLine('{"a": 1}'), undefined);
  t.is(parseMetricLine('[1, 2]'), undefined);
  t.is(parseMetricLine('{"step": 1, "x": '), undefined);
});

test('a half-written line is returned once its newline arrives; a bad line is counted, not returned', async (t) => {
  const path = join(tempDir(t), 'metrics.jsonl');
  const follower = new MetricsFollower(path);
  t.deepEqual(await follower.poll(), { lines: [], reset: false }, 'no file yet');
  writeFileSync(path, '{"step": 1, "loss": 2}\n{"step": 2, "lo');
  t.deepEqual((await follower.poll()).lines, [{ step: 1, loss: 2 }]);
  t.deepEqual((await follower.poll()).lines, []);
  const accent = Buffer.from('é');
  appendFileSync(path, Buffer.concat([Buffer.from('ss": 1.5}\nnot json\n{"step": 3, "r'), accent.subarray(0, 1)]));
  t.deepEqual((await follower.poll()).lines, [{ step: 2, loss: 1.5 }]);
  t.is(follower.skipped, 1);
  appendFileSync(path, Buffer.concat([accent.subarray(1), Buffer.from('": 7}\n')]));
  t.deepEqual((await follower.poll()).lines, [{ step: 3, 'ré': 7 }], 'a multi-byte character split across polls stays whole');
});

test('a file cut back or replaced (a resumed run) is read again from the start', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'metrics.jsonl');
  writeFileSync(path, '{"step": 1}\n{"step": 2}\n{"step": 3}\n');
  const follower = new MetricsFollower(path);
  t.is((await follower.poll()).lines.length, 3);
  writeFileSync(join(dir, 'new'), '{"step": 1}\n{"step": 2}\n{"step": 3, "again": 1}\n{"step": 4}\n');
  renameSync(join(dir, 'new'), path);
  t.deepEqual(await follower.poll(), { lines: [{ step: 1 }, { step: 2 }, { step: 3, again: 1 }, { step: 4 }], reset: true });
  truncateSync(path, 12);
  t.deepEqual(await follower.poll(), { lines: [{ step: 1 }], reset: true });
});

test('findRuns: a run folder given, or every run below a folder (checkpoints and samples not searched)', async (t) => {
  const root = tempDir(t);
  for (const run of ['lab/runs/grpo', 'lab/runs/rex-rag', 'lab/warm', 'other/run1']) {
    mkdirSync(join(root, run), { recursive: true });
    writeFileSync(join(root, run, 'metrics.jsonl'), '');
  }
  mkdirSync(join(root, 'lab/runs/grpo/checkpoints/step-1'), { recursive: true });
  writeFileSync(join(root, 'lab/runs/grpo/checkpoints/step-1/metrics.jsonl'), '');
  const lab = await findRuns([join(root, 'lab')]);
  t.deepEqual(lab.map((r) => r.name), ['runs/grpo', 'runs/rex-rag', 'warm']);
  t.deepEqual((await findRuns([join(root, 'lab/runs/grpo'), join(root, 'other')])).map((r) => r.name), ['grpo', 'run1']);
  t.deepEqual((await findRuns([join(root, 'lab/runs'), join(root, 'lab/runs/grpo')])).map((r) => r.name), ['grpo', 'rex-rag'], 'each run once');
  await t.throwsAsync(checkRunPaths([join(root, 'nope')]), { code: 'ERR_INVALID_ARG', message: /nope does not exist/ } as never);
  await t.throwsAsync(checkRunPaths([join(root, 'lab/warm/metrics.jsonl')]), { code: 'ERR_INVALID_ARG', message: /is not a folder/ } as never);
  await t.throwsAsync(checkRunPaths([]), { code: 'ERR_INVALID_ARG' } as never);
});
