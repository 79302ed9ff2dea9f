// `npm run bench -- --compare OLD.json`: figure-by-figure changes with the right verdict for the unit's
// direction, and the two-file mode of the benchmark runner (no measurement run).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { compareFigures, renderComparison } from '../../benchmarks/lib/compare.js';
import type { Figure } from '../../benchmarks/lib/report.js';
import { packageRoot } from '../helpers/paths.js';

const before: Figure[] = [
  { name: 'generate/batch8', unit: 'tokens/s', value: 100, baseline: 100, ratio: 1 },
  { name: 'logprobs/time', unit: 's', value: 2, baseline: 2, ratio: 1 },
  { name: 'grpo/peak_memory', unit: 'MiB', value: 1000 },
  { name: 'parity/equal', unit: 'bool', value: 1 },
  { name: 'retired', unit: 's', value: 1 },
];
const after: Figure[] = [
  { name: 'generate/batch8', unit: 'tokens/s', value: 150, baseline: 100, ratio: 1.5 },
  { name: 'logprobs/time', unit: 's', value: 2.5, baseline: 2, ratio: 0.8 },
  { name: 'grpo/peak_memory', unit: 'MiB', value: 1010 },
  { name: 'parity/equal', unit: 'bool', value: 0 },
  { name: 'retrieval/new', unit: 'queries/s', value: 5 },
];

test('each figure gets its change and a verdict that follows its unit', (t) => {
  const changes = compareFigures(before, after);
  const by = (name: string) => changes.find((c) => c.name === name)!;
  t.is(by('generate/batch8').verdict, 'better');
  t.true(Math.abs(by('generate/batch8').change! - 0.5) < 1e-12);
  t.is(by('logprobs/time').verdict, 'worse', 'more seconds is worse');
  t.is(by('grpo/peak_memory').verdict, 'same', 'a 1% change is noise');
  t.is(by('parity/equal').verdict, 'worse');
  t.is(by('retrieval/new').verdict, 'new');
  t.is(by('retired').verdict, 'gone');
  const text = renderComparison(changes, 'old.json');
  t.regex(text, /1 better, 2 worse/);
  t.regex(text, /logprobs\/time +s +2\.000 +2\.500 +\+25\.0% +WORSE +1\.00x -> 0\.80x/);
});

test('the runner compares two results files without measuring, and refuses a file that is not one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-compare-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'old.json'), JSON.stringify({ results: before }));
  writeFileSync(join(dir, 'new.json'), JSON.stringify({ results: after }));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ figures: [] }));
  const run = (...args: string[]) => spawnSync(process.execPath, [join(packageRoot, 'dist', 'benchmarks', 'run.js'), ...args], { encoding: 'utf8' });
  const ok = run('--compare', join(dir, 'old.json'), '--against', join(dir, 'new.json'));
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /generate\/batch8 +tokens\/s +100\.0 +150\.0 +\+50\.0% +better/);
  const bad = run('--compare', join(dir, 'bad.json'), '--against', join(dir, 'new.json'));
  t.is(bad.status, 2);
  t.regex(bad.stderr, /has no "results" list of figures/);
  const lone = run('--against', join(dir, 'new.json'));
  t.is(lone.status, 2);
  t.regex(lone.stderr, /--against needs --compare/);
});
