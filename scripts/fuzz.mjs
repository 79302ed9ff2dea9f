#!/usr/bin/env node
// `npm run fuzz -- [--cases N] [--seed S] [--first K] [--model-share P] [--all]`: a longer run of the fuzz suite
// (test/fuzz/run-fuzz.ts, compiled to dist/). Prints a summary and one line per failing case with the command
// that replays it; exits 1 when any case failed. --all also asserts the model mutations the suite skips.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { cases: { type: 'string' }, seed: { type: 'string' }, first: { type: 'string' }, 'model-share': { type: 'string' }, all: { type: 'boolean' } },
});
const number = (name, fallback) => {
  if (values[name] === undefined) return fallback;
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) && name !== 'model-share') throw new Error(`--${name} must be an integer, got ${values[name]}`);
  return value;
};
const { runFuzz, describeFailures } = await import('../dist/test/fuzz/run-fuzz.js');
const seed = number('seed', Math.floor(Math.random() * 2 ** 31));
const cases = number('cases', 20_000);
process.stderr.write(`rexrag fuzz: ${cases} cases, seed ${seed}\n`);
const report = await runFuzz({ seed, cases, first: number('first', 0), modelShare: number('model-share', 0.1), all: values.all === true });
process.stdout.write(`${JSON.stringify({ seed, cases, counts: report.counts, seconds: report.seconds, casesPerSecond: Math.round(cases / report.seconds), failures: report.failures.length, skippedKindFailures: report.skippedFailures.length })}\n`);
if (report.failures.length > 0) process.stdout.write(`${describeFailures(report.failures)}\n`);
if (report.skippedFailures.length > 0) process.stdout.write(`model mutations the suite skips (the loader's):\n${describeFailures(report.skippedFailures)}\n`);
process.exit(report.failures.length > 0 ? 1 : 0);
