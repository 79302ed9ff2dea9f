// The fuzz driver shared by the in-suite test (fuzz.test.ts) and `npm run fuzz`: runs seeded cases over three
// areas (model folders through loadPolicy in a child process, config files through resolveConfig, raw HTTP to
// the retrieval server) and returns every case that ended other than in success, a RexragError or a clean 4xx,
// each with the seed and index that replay it.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { resolveConfig } from '../../lib/config/resolve-config.js';
import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { isRexragError } from '../../lib/errors.js';
import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { startRetrievalServer } from '../../lib/retrieval/server.js';
import { FakeRetriever } from '../helpers/fake-retriever.js';
import { makeConfigCase } from './config-cases.js';
import { caseDraw } from './fuzz-random.js';
import { makeHttpCase, sendRaw } from './http-cases.js';
import { MODEL_MUTATIONS, SKIPPED_MODEL_MUTATIONS, writeMutatedModel, type ModelMutation } from './model-cases.js';

export type FuzzArea = 'model' | 'config' | 'http';

export interface FuzzFailure {
  area: FuzzArea;
  seed: number;
  index: number;
  kind: string;
  description: string;
  problem: string;
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** First case index (to replay one case: its index and cases 1). */
  first?: number;
  /** Share of the cases that load a model folder (the slowest area). Default 0.1. */
  modelShare?: number;
  /** Also assert the model mutations SKIPPED_MODEL_MUTATIONS leaves out (their failures are reported apart). */
  all?: boolean;
  /** A model load taking longer than this is a hang. Default 20 s. */
  hangMs?: number;
}

export interface FuzzReport {
  counts: Record<FuzzArea, number>;
  failures: FuzzFailure[];
  /** Failures of the skipped model mutations (only with `all`). */
  skippedFailures: FuzzFailure[];
  seconds: number;
}

const workerPath = fileURLToPath(new URL('./load-worker.js', import.meta.url));

/** The child that loads model folders; restarted after a crash or a hang. */
class LoadWorker {
  private child: ChildProcess | undefined;
  private next = 0;

  private async start(): Promise<ChildProcess> {
    const child = fork(workerPath, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.resume();
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the load worker exited (${code}) before it was ready`)));
    });
    return child;
  }

  /** 'loaded', an error description, or the crash/hang as `problem`. */
  async load(dir: string, hangMs: number): Promise<{ outcome: 'loaded' | 'error'; name?: string; code?: string; message?: string } | { problem: string }> {
    this.child ??= await this.start();
    const child = this.child;
    const id = this.next++;
    return new Promise((resolve) => {
      const finish = (value: Parameters<typeof resolve>[0]) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(value);
      };
      const onMessage = (message: { id: number; outcome: 'loaded' | 'error'; name?: string; code?: string; message?: string }) => {
        if (message.id === id) finish(message);
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        finish({ problem: `the loading process died (exit ${code}, signal ${signal})` });
      };
      const timer = setTimeout(() => {
        this.child = undefined;
        child.kill('SIGKILL');
        finish({ problem: `loadPolicy did not finish within ${hangMs} ms` });
      }, hangMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ id, dir });
    });
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}

/** Runs `cases` cases from `first` (default 0) with `seed`. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'rexrag-fuzz-'));
  const source = join(root, 'source');
  await writeTinyModel(source, { seed: 1 });
  const token = 'fuzz-token';
  const server = await startRetrievalServer(new FakeRetriever(), { port: 0, token, maxBodyBytes: 64 * 1024, headersTimeoutMs: 2000, requestTimeoutMs: 3000 });
  const worker = new LoadWorker();
  const report: FuzzReport = { counts: { model: 0, config: 0, http: 0 }, failures: [], skippedFailures: [], seconds: 0 };
  try {
    for (let index = options.first ?? 0; index < (options.first ?? 0) + options.cases; index++) {
      const draw = caseDraw(options.seed, index);
      const roll = draw.int(1000) / 1000;
      const area: FuzzArea = roll < (options.modelShare ?? 0.1) ? 'model' : draw.chance(0.5) ? 'http' : 'config';
      report.counts[area]++;
      const fail = (kind: string, description: string, problem: string, skipped = false) =>
        (skipped ? report.skippedFailures : report.failures).push({ area, seed: options.seed, index, kind, description, problem });
      if (area === 'model') {
        const kind: ModelMutation = draw.pick(MODEL_MUTATIONS);
        const skipped = SKIPPED_MODEL_MUTATIONS.has(kind);
        if (skipped && !options.all) continue;
        const dir = join(root, 'case');
        rmSync(dir, { recursive: true, force: true });
        const description = writeMutatedModel(draw, source, dir, kind);
        const result = await worker.load(dir, options.hangMs ?? 20_000);
        if ('problem' in result) fail(kind, description, result.problem, skipped);
        else if (result.outcome === 'error' && result.name !== 'RexragError' && result.name !== 'LimitError') {
          fail(kind, description, `threw ${result.name} (${result.code ?? 'no code'}), not a RexragError: ${result.message}`, skipped);
        }
      } else if (area === 'config') {
        const fuzzCase = makeConfigCase(draw, join(root, 'config'));
        try {
          const config = await resolveConfig(rlConfigSchema, { ...(fuzzCase.file ? { file: fuzzCase.file } : {}), overrides: fuzzCase.overrides });
          if (({} as Record<string, unknown>).polluted !== undefined) fail('config', fuzzCase.description, 'Object.prototype was polluted');
          rlConfigSchema.parse(config);  // what it returns is a valid config
        } catch (error) {
          if (!isRexragError(error)) fail('config', fuzzCase.description, `threw ${(error as Error)?.name}: ${String((error as Error)?.message).slice(0, 200)}`);
        }
      } else {
        const fuzzCase = makeHttpCase(draw, server.port, token);
        const status = await sendRaw(server.port, fuzzCase.raw, 5000);
        if (status === 'timeout' || status === undefined || status >= 500) {
          fail('http', fuzzCase.description, status === 'timeout' ? 'no answer within 5 s' : status === undefined ? 'closed without an answer' : `answered ${status}`);
        }
      }
    }
  } finally {
    worker.stop();
    await server.close(100);
    rmSync(root, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/** One line per failure, with the command that replays it. */
export function describeFailures(failures: FuzzFailure[]): string {
  return failures.map((f) => `${f.area}/${f.kind} seed ${f.seed} case ${f.index}: ${f.problem} [${f.description}] (replay: npm run fuzz -- --seed ${f.seed} --first ${f.index} --cases 1${f.area === 'model' ? ' --all' : ''})`).join('\n');
}
