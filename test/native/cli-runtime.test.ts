// The CLI's runtime commands: JSON on stdout, clear errors and exit codes for bad input.
import test from 'ava';

import { runCli } from '../helpers/run-cli.js';

test('rexrag info prints the runtime as JSON', async (t) => {
  const result = await runCli(['info']);
  t.is(result.code, 0, result.stderr);
  const info = JSON.parse(result.stdout);
  t.regex(info.torchVersion, /^\d+\.\d+/);
  t.true(info.numThreads >= 1);
});

test('an unknown command or option exits 2 with a one-line reason', async (t) => {
  const unknown = await runCli(['frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command "frobnicate"/);
  const badOption = await runCli(['info', '--nope']);
  t.is(badOption.code, 2);
  t.regex(badOption.stderr, /Unknown option '--nope'/);
});

test('rexrag --help lists the commands', async (t) => {
  const result = await runCli(['--help']);
  t.is(result.code, 0);
  t.regex(result.stdout, /commands:[\s\S]*info/);
});
