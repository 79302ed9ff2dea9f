// `rexrag sft` end to end on tiny models: demonstrations in, a trained model, metrics and checkpoints out; resume
// continues where it stopped; changed settings and bad files are refused clearly.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { labDemonstrations } from '../../lib/data/lab-demonstrator.js';
import { LAB_SYLLABLES } from '../../lib/data/lab-names.js';
import { LAB_WORDS } from '../../lib/data/lab-templates.js';
import { generateLabWorld } from '../../lib/data/lab-world.js';
import { sftDemosJsonl } from '../../lib/data/sft-demos.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { buildLabTokenizer } from '../../lib/tokenizer/lab-tokenizer.js';
import { runCli } from '../helpers/run-cli.js';

const noRetriever = { search: async () => { throw new Error('fresh demonstrations need no retriever'); } };

async function setup(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-sft-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = buildLabTokenizer({ syllables: LAB_SYLLABLES, words: LAB_WORDS });
  await writeTinyModel(join(dir, 'model'), { seed: 1, layers: 1, hidden: 32, heads: 2, kvHeads: 2, intermediate: 64, tokenizer });
  const demos = await labDemonstrations(generateLabWorld({ seed: 1, sizes: { countries: 1, cities: 1, people: 1, films: 1, companies: 1, distractorPeople: 0, distractorCities: 0 } }), [], noRetriever, { seed: 1, count: 24, freshFraction: 1 });
  writeFileSync(join(dir, 'demos.jsonl'), sftDemosJsonl(demos));
  return dir;
}

const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; nll: number });

test('sft trains, checkpoints and resumes where it stopped', async (t) => {
  const dir = await setup(t);
  const out = join(dir, 'out');
  const common = ['sft', '--model', join(dir, 'model'), '--data', join(dir, 'demos.jsonl'), '--out', out, '--prompt-template', 'compact', '--batch-size', '4', '--epochs', '2', '--lr', '3e-3', '--checkpoint-every', '2'];
  const first = await runCli([...common, '--max-steps', '4']);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stderr, /step 4\/4 \(epoch 1\): NLL/);
  t.deepEqual(lines(join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4]);
  t.true(existsSync(join(out, 'model', 'model.safetensors')));
  t.true(readdirSync(join(out, 'checkpoints')).includes('step-00000004'));
  // Demonstrations of the batch are kept at step 1 and at each checkpoint.
  t.deepEqual(readdirSync(join(out, 'samples')), ['step-00000001.jsonl', 'step-00000002.jsonl', 'step-00000004.jsonl']);
  const samples = readFileSync(join(out, 'samples', 'step-00000001.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; segments: unknown[] });
  t.true(samples.length === 4 && samples.every((s) => s.phase === 'demo' && s.segments.length > 0));
  const resumed = await runCli([...common, '--resume']);
  t.is(resumed.code, 0, resumed.stderr);
  t.regex(resumed.stderr, /resumed at step 4; 12 steps/);
  const metrics = lines(join(out, 'metrics.jsonl'));
  t.deepEqual(metrics.map((m) => m.step), Array.from({ length: 12 }, (_, i) => i + 1));
  t.true(metrics[11]!.nll < metrics[0]!.nll, `NLL ${metrics[0]!.nll} -> ${metrics[11]!.nll}`);
  const changed = await runCli([...common.map((a) => (a === '3e-3' ? '1e-3' : a)), '--resume']);
  t.is(changed.code, 1);
  t.regex(changed.stderr, /cannot resume .*lr was 0.003, now 0.001/);
});

test('sft works with the Search-R1 prompt on a Qwen-style ChatML model; usage and bad input', async (t) => {
  const dir = await setup(t);
  await writeTinyModel(join(dir, 'qwen'), { seed: 2, layers: 1, hidden: 32, heads: 2, kvHeads: 2, intermediate: 64 });
  const ok = await runCli(['sft', '--model', join(dir, 'qwen'), '--data', join(dir, 'demos.jsonl'), '--out', join(dir, 'qwen-out'), '--batch-size', '8']);
  t.is(ok.code, 0, ok.stderr);
  t.is(JSON.parse(readFileSync(join(dir, 'qwen-out', 'config.json'), 'utf8')).promptTemplate, 'search-r1');
  const help = await runCli(['sft', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout + help.stderr, /usage: rexrag sft --model DIR --data demos.jsonl --out DIR/);
  writeFileSync(join(dir, 'bad.jsonl'), '{"question": "q", "segments": [{"kind": "tool", "text": "x"}]}\n');
  const bad = await runCli(['sft', '--model', join(dir, 'qwen'), '--data', join(dir, 'bad.jsonl'), '--out', join(dir, 'x')]);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /bad\.jsonl:1: segments\[0\] must be/);
  const template = await runCli(['sft', '--model', join(dir, 'qwen'), '--data', join(dir, 'demos.jsonl'), '--out', join(dir, 'x'), '--prompt-template', 'long']);
  t.is(template.code, 2);
  t.regex(template.stderr, /--prompt-template must be one of search-r1, compact/);
});
