// Seeds of every size get their own stream or are refused: seeds 2^32 apart used to replay each other (2^32 gave
// seed 0's draws) and 1e30 was taken as some other seed. Seeds below 2^32 keep the streams they always had.
import { spawn } from 'node:child_process';

import test from 'ava';

import { keyedRandom, mixSeed, mulberry32, seedState } from '../../lib/util/random.js';
import { cliPath, packageRoot } from '../helpers/paths.js';

const draws = (random: () => number, n = 4) => Array.from({ length: n }, () => random());

test('seeds below 2^32 keep their streams (pinned values from before the change)', (t) => {
  t.deepEqual(draws(mulberry32(5), 2), [0.6897749109193683, 0.7727432732935995]);
  t.is(mulberry32(0)(), 0.26642920868471265);
  t.is(mulberry32(-1)(), mulberry32(2 ** 32 - 1)(), 'a negative int32 seed stays its two\'s complement');
  t.is(keyedRandom(7, 'x')(), 0.4620323092676699);
});

test('seeds 2^32 apart, and large seeds, draw different streams', (t) => {
  t.notDeepEqual(draws(mulberry32(2 ** 32)), draws(mulberry32(0)));
  t.notDeepEqual(draws(mulberry32(2 ** 33 + 5)), draws(mulberry32(5)));
  t.notDeepEqual(draws(keyedRandom(2 ** 32 + 7, 'x')), draws(keyedRandom(7, 'x')));
  t.notDeepEqual(draws(mulberry32(Number.MAX_SAFE_INTEGER)), draws(mulberry32(Number.MAX_SAFE_INTEGER - 2 ** 32)));
  t.not(seedState(2 ** 32), seedState(0));
});

test('seeds that are not exact integers (past 2^53) are refused, naming the seed', (t) => {
  t.throws(() => mulberry32(1e30), { instanceOf: RangeError, message: /seed must be a safe integer \(\|seed\| < 2\^53\), got 1e\+30/ });
  t.throws(() => keyedRandom(2 ** 53, 'x'), { instanceOf: RangeError });
  t.throws(() => mixSeed(1, 1e30), { instanceOf: RangeError, message: /parts\[1\] must be <= 9007199254740991/ });
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

// The model folders do not exist: the seed is refused before anything is loaded.
for (const args of [
  ['generate', '--model', '/nonexistent-model', '--prompt', 'hi', '--seed', '1e30'],
  ['rollout', '--model', '/nonexistent-model', '--index', '/nonexistent-index', '--questions', '/nonexistent.jsonl', '--seed', '1e30'],
  ['sft', '--model', '/nonexistent-model', '--data', '/dev/null', '--out', '/tmp/rexrag-seed-unused', '--seed', '9007199254740993'],
]) {
  test(`rexrag ${args[0]} --seed ${args[args.length - 1]} is a usage error`, async (t) => {
    const result = await runCli(args);
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /--seed must be an integer in \[0, 2\^53\)/);
  });
}

test('rexrag generate --top-k=-5 is a usage error', async (t) => {
  const result = await runCli(['generate', '--model', '/nonexistent-model', '--prompt', 'hi', '--top-k=-5']);
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /--top-k must be >= 0, got -5/);
});
