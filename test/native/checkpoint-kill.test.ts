// kill -9 at seeded random points of a training run, including while a checkpoint is being written, then
// resume: the run must end with parameters and optimizer state byte-identical to a run never interrupted, one
// metrics line per step, and no temporary folders left.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { buildIndex } from '../../lib/retrieval/build.js';
import { caseDraw } from '../fuzz/fuzz-random.js';

const STEPS = 5;
const SEED = 16;
const root = mkdtempSync(join(tmpdir(), 'rexrag-kill-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const runScript = fileURLToPath(new URL('./checkpoint-kill-run.js', import.meta.url));

test.before(async () => {
  await writeTinyModel(join(root, 'model'), { seed: 4 });
  writeFileSync(join(root, 'corpus.jsonl'), ['Paris', 'Nile', 'Hamlet', 'Rome'].map((g, i) => JSON.stringify({ id: String(i), contents: `"${g}"\n${g} is a name.` })).join('\n'));
  await buildIndex({ corpus: join(root, 'corpus.jsonl'), out: join(root, 'index') });
});

type KillPoint = { kind: 'after-step'; step: number; delayMs: number } | { kind: 'checkpoint-write'; step: number };

/**
 * Runs the training process until it finishes (returns true) or until `kill` fires (SIGKILL; returns false):
 * `delayMs` after the line of step `step`, or the moment step `step`'s checkpoint folder is being written.
 */
function runUntil(runDir: string, kill?: KillPoint): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runScript, runDir, join(root, 'model'), join(root, 'index'), String(STEPS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let killed = false;
    const killNow = () => {
      if (killed) return;
      killed = true;
      child.kill('SIGKILL');
    };
    let watcher: NodeJS.Timeout | undefined;
    if (kill?.kind === 'checkpoint-write') {
      const temporary = `.step-${String(kill.step).padStart(8, '0')}.tmp-`;
      // Polled every millisecond: the write of a tiny checkpoint lasts tens of milliseconds.
      watcher = setInterval(() => {
        const names = existsSync(join(runDir, 'checkpoints')) ? readdirSync(join(runDir, 'checkpoints')) : [];
        if (names.some((name) => name.startsWith(temporary))) killNow();
      }, 1);
    }
    child.stdout.on('data', (chunk: Buffer) => {
      if (kill?.kind === 'after-step' && chunk.toString().includes(`step ${kill.step}\n`)) setTimeout(killNow, kill.delayMs);
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(watcher);
      if (signal === 'SIGKILL' && killed) resolve(false);
      else if (code === 0) resolve(true);
      else reject(new Error(`the training process failed (${code ?? signal}): ${stderr}`));
    });
  });
}

const finalFiles = (runDir: string) => {
  const last = join(runDir, 'checkpoints', `step-${String(STEPS).padStart(8, '0')}`);
  return { model: readFileSync(join(last, 'model', 'model.safetensors')), trainer: readFileSync(join(last, 'trainer.safetensors')), reference: readFileSync(join(last, 'reference.safetensors')) };
};

test('killed with SIGKILL at seeded points (some inside checkpoint writes) and resumed, a run ends byte-identical to a straight one', async (t) => {
  t.timeout(240_000);
  const straightDir = join(root, 'straight');
  t.true(await runUntil(straightDir));
  const straight = finalFiles(straightDir);

  const draw = caseDraw(SEED, 0);
  // Two kills inside checkpoint writes and two at random times after a step, at seeded steps.
  const plan: KillPoint[] = [
    { kind: 'checkpoint-write', step: 1 + draw.int(2) },
    { kind: 'after-step', step: 2 + draw.int(2), delayMs: draw.int(400) },
    { kind: 'checkpoint-write', step: 4 },
    { kind: 'after-step', step: 4, delayMs: draw.int(150) },
  ];
  const killedDir = join(root, 'killed');
  const outcomes: string[] = [];
  for (const point of plan) {
    const finished = await runUntil(killedDir, point);
    outcomes.push(`${JSON.stringify(point)}: ${finished ? 'finished first' : 'killed'}`);
    if (finished) break;
  }
  t.log(outcomes.join('\n'));
  t.true(outcomes.filter((o) => o.endsWith('killed')).length >= 2, 'at least two kills landed');
  if (!existsSync(join(killedDir, 'checkpoints', `step-${String(STEPS).padStart(8, '0')}`))) t.true(await runUntil(killedDir));
  else await runUntil(killedDir);  // a no-op resume at the end must change nothing either

  const resumed = finalFiles(killedDir);
  t.true(resumed.model.equals(straight.model), 'model weights byte-identical');
  t.true(resumed.trainer.equals(straight.trainer), 'optimizer state byte-identical');
  t.true(resumed.reference.equals(straight.reference), 'reference weights byte-identical');
  const steps = readFileSync(join(killedDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { step: number }).step);
  t.deepEqual(steps.filter((s) => s > 0), Array.from({ length: STEPS }, (_, i) => i + 1), 'one metrics line per step');
  t.deepEqual(readdirSync(join(killedDir, 'checkpoints')).filter((name) => name.includes('.tmp-')), [], 'no temporary folder left');
});
