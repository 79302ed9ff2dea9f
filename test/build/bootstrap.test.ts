// With nothing changed, the bootstrap verifies and returns without reinstalling or rebuilding anything.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import test from 'ava';

import { packageRoot } from '../helpers/paths.js';

test('a second bootstrap with no change neither installs nor rebuilds', (t) => {
  const run = spawnSync(process.execPath, [join(packageRoot, 'scripts', 'bootstrap.mjs')], {
    cwd: packageRoot,
    encoding: 'utf8',
  });
  t.is(run.status, 0, run.stderr);
  t.notRegex(run.stderr, /installing Debian packages|npm ci|building the native addon|compiling TypeScript/);
  t.regex(run.stderr, /ready in/);
});
