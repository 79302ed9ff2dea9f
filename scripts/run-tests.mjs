#!/usr/bin/env node
// Runs ava with TAP output, passes it through, and closes with the plain line CI reads:
// `N passed, N failed` (`, N skipped` when any), taken from ava's TAP totals. Exits with ava's code.
// Extra arguments go to ava (e.g. a file pattern: `npm test -- dist/test/unit/**`).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const avaCli = join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const child = spawn(process.execPath, [avaCli, '--tap', ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});

const totals = { pass: 0, fail: 0, skip: 0, todo: 0 };
let buffer = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buffer += chunk.toString();
  let newline;
  while ((newline = buffer.indexOf('\n')) >= 0) {
    const line = buffer.slice(0, newline);
    buffer = buffer.slice(newline + 1);
    const match = /^# (pass|fail|skip|todo)\s+(\d+)/.exec(line);
    if (match) totals[match[1]] = Number(match[2]);
  }
});

child.on('close', (code, signal) => {
  // TAP counts test.todo as failures; report them as skipped instead of hiding them.
  const failed = Math.max(0, totals.fail - totals.todo);
  const skipped = totals.skip + totals.todo;
  const exitCode = code ?? 1;
  const failedShown = exitCode !== 0 && failed === 0 ? 1 : failed;  // a crash with no TAP totals is a failure
  process.stdout.write(`\n${totals.pass} passed, ${failedShown} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  if (signal) process.stderr.write(`ava was killed by ${signal}\n`);
  process.exit(exitCode);
});
