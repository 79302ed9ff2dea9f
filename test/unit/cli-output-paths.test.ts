// Every command that writes a file or a folder checks it before any work: a folder given for a file, a file
// given for a folder, a folder that cannot be created (/proc, where Node's recursive mkdir spins forever) are
// usage errors naming the flag, at once. The commands here fail before the addon is needed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { folderWriteProblem, makeFolder } from '../../lib/util/make-folder.js';
import { cliPath, packageRoot } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'rexrag-out-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));
const aFile = join(root, 'a-file.txt');
writeFileSync(aFile, 'x\n');
const questions = join(root, 'questions.jsonl');
writeFileSync(questions, `${JSON.stringify({ question: 'q?', golden_answers: ['a'] })}\n`);

/** Runs the CLI, killed after `ms` (a hang is a failure with a clear reason, not a stuck suite). */
function runCli(args: string[], ms = 20_000): Promise<{ code: number | null; stderr: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, ms);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, hung });
    });
  });
}

const cases: { name: string; args: string[]; message: RegExp }[] = [
  { name: 'make-tiny-model into /proc', args: ['make-tiny-model', '--out', '/proc/rexrag-x'], message: /--out \/proc\/rexrag-x cannot be written: nothing can be created in \/proc/ },
  { name: 'make-tiny-model onto a file', args: ['make-tiny-model', '--out', aFile], message: /--out .*a-file\.txt is a file; give a folder/ },
  { name: 'make-tiny-model below a file', args: ['make-tiny-model', '--out', join(aFile, 'sub')], message: /a-file\.txt is not a folder/ },
  { name: 'index into /proc', args: ['index', '--corpus', questions, '--out', '/proc/rexrag-x'], message: /--out \/proc\/rexrag-x cannot be written/ },
  { name: 'data convert onto a folder', args: ['data', 'convert', questions, '--to', 'parquet', '--out', root], message: /--out .* is a folder; give a file path/ },
  { name: 'data convert into /proc', args: ['data', 'convert', questions, '--to', 'parquet', '--out', '/proc/x.parquet'], message: /--out \/proc\/x\.parquet: the folder \/proc does not exist or is not writable: nothing can be created in \/proc/ },
  { name: 'data convert into a missing folder', args: ['data', 'convert', questions, '--to', 'parquet', '--out', join(root, 'missing', 'x.parquet')], message: /the folder .*missing does not exist/ },
  // The model does not exist either: the output is refused first, before anything is loaded.
  { name: 'eval onto a folder', args: ['eval', '--model', join(root, 'no-model'), '--index', join(root, 'no-index'), '--data', questions, '--out', root], message: /--out .* is a folder; give a file path/ },
  { name: 'eval results into /proc', args: ['eval', '--model', join(root, 'no-model'), '--index', join(root, 'no-index'), '--data', questions, '--results', '/proc/r.jsonl'], message: /--results \/proc\/r\.jsonl: the folder \/proc does not exist or is not writable/ },
  { name: 'train into /proc', args: ['train', '--model', join(root, 'no-model'), '--index', join(root, 'no-index'), '--train', questions, '--out', '/proc/rexrag-x'], message: /--out \/proc\/rexrag-x cannot be written/ },
  { name: 'sft into /proc', args: ['sft', '--model', join(root, 'no-model'), '--data', questions, '--out', '/proc/rexrag-x'], message: /--out \/proc\/rexrag-x cannot be written/ },
  { name: 'demo into /proc', args: ['demo', '--dir', '/proc/rexrag-x', '--scale', 'test'], message: /--dir \/proc\/rexrag-x cannot be written/ },
  { name: 'experiment into /proc', args: ['experiment', '--dir', '/proc/rexrag-x', '--scale', 'test'], message: /--dir \/proc\/rexrag-x cannot be written/ },
];

for (const { name, args, message } of cases) {
  test(`${name}: refused at once, naming the flag`, async (t) => {
    const result = await runCli(args);
    t.false(result.hung, 'the command did not finish within 20 s');
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, message);
  });
}

test('makeFolder creates missing levels and names what stops it, where mkdir -p would spin', async (t) => {
  const nested = join(root, 'made', 'a', 'b');
  t.is(await makeFolder(nested), nested);
  t.true(existsSync(nested));
  t.is(await makeFolder(nested), nested, 'an existing folder is fine');
  const refused = await makeFolder('/proc/rexrag-made/x').catch((error: unknown) => error);
  t.true(isRexragError(refused, 'ERR_IO'));
  t.regex((refused as Error).message, /cannot create the folder \/proc\/rexrag-made\/x/);
  const blocked = await makeFolder(join(aFile, 'x')).catch((error: unknown) => error);
  t.true(isRexragError(blocked, 'ERR_IO'));
  t.regex((blocked as Error).message, /a-file\.txt is not a folder/);
  t.is(await folderWriteProblem(join(root, 'not', 'yet')), undefined, 'a folder that can be created');
  t.false(existsSync(join(root, 'not')), 'the check leaves nothing behind');
});
