// Native memory of generation sessions is reclaimed: dispose() frees a session at once, and a session that is
// never disposed is freed by its finalizer once garbage-collected (checked with the native live-session count
// in a child process started with --expose-gc, so the test owns the whole heap).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import test from 'ava';

import { writeTinyModel } from '../../lib/model/tiny-model.js';
import { packageRoot } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-finalizer-'));
test.before(async () => {
  await writeTinyModel(join(root, 'model'), { seed: 2 });
});
test.after.always(() => rmSync(root, { recursive: true, force: true }));

const lib = (path: string) => pathToFileURL(join(packageRoot, 'dist', 'lib', path)).href;

/** Runs `body` as an ES module in a fresh Node with --expose-gc; resolves with its JSON on stdout. */
async function inChild(body: string): Promise<Record<string, number[] | number>> {
  const source = `
    import { loadPolicy } from ${JSON.stringify(lib('model/load-policy.js'))};
    import { liveNativeSessions } from ${JSON.stringify(lib('model/native-memory.js'))};
    const policy = await loadPolicy(${JSON.stringify(join(root, 'model'))});
    const sampling = { temperature: 1, topP: 1, topK: 0, maxNewTokens: 16, seed: 0, stopStrings: [], eosTokenIds: [] };
    async function generateOnce(session, seed) {
      const rows = [0, 1, 2, 3].map(() => session.addRow([1, 2, 3, 4, 5]));
      await session.generate(rows, { ...sampling, seed });
    }
    async function collect() {
      for (let i = 0; i < 10 && liveNativeSessions() > 0; i++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 20)); // finalizers may run after the collection
      }
    }
    ${body}
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], { cwd: packageRoot, timeout: 120_000 });
  return JSON.parse(stdout) as Record<string, number[] | number>;
}

test('dispose() frees a session at once', async (t) => {
  const out = await inChild(`
    const session = policy.createSession();
    await generateOnce(session, 1);
    const before = liveNativeSessions();
    session.dispose();
    console.log(JSON.stringify({ before, after: liveNativeSessions() }));
  `);
  t.deepEqual(out, { before: 1, after: 0 });
});

test('sessions that are never disposed are freed by their finalizers after garbage collection', async (t) => {
  const out = await inChild(`
    for (let i = 0; i < 20; i++) await generateOnce(policy.createSession(), i); // each dropped undisposed
    const dropped = liveNativeSessions();
    await collect();
    const kept = policy.createSession(); // a referenced session must survive the collections
    await generateOnce(kept, 99);
    await collect();
    console.log(JSON.stringify({ dropped, collected: liveNativeSessions(), rows: kept.rowCount() }));
  `);
  t.true((out.dropped as number) >= 1, `sessions alive before collection: ${out.dropped}`);
  t.is(out.collected, 1, 'only the referenced session is left');
  t.is(out.rows, 4);
});
