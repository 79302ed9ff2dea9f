// binding.gyp really builds the addon: node-gyp compiles the same sources in a scratch copy of the package,
// offline against the system's Node headers, and the result loads and answers runtimeInfo().
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { packageRoot } from '../helpers/paths.js';

test('node-gyp builds a loadable addon from binding.gyp', (t) => {
  t.timeout(20 * 60_000, 'a full node-gyp build takes minutes on 2 busy cores'); // ava's default of 5 min is for the other tests
  const scratch = mkdtempSync(join(tmpdir(), 'rexrag-gyp-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  cpSync(join(packageRoot, 'binding.gyp'), join(scratch, 'binding.gyp'));
  cpSync(join(packageRoot, 'native'), join(scratch, 'native'), { recursive: true });
  cpSync(join(packageRoot, 'package.json'), join(scratch, 'package.json'));
  symlinkSync(join(packageRoot, 'node_modules'), join(scratch, 'node_modules'));
  const nodeGyp = join(packageRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--nodedir=/usr', '--jobs=2'], {
    cwd: scratch,
    encoding: 'utf8',
  });
  t.is(build.status, 0, `node-gyp failed:\n${build.stdout}\n${build.stderr}`.slice(-4000));
  const addon = createRequire(import.meta.url)(join(scratch, 'build', 'Release', 'rexrag.node'));
  t.regex(addon.runtimeInfo().torchVersion, /^\d+\.\d+/);
});
