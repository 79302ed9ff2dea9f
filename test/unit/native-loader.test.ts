// When the addon cannot be loaded, the error lists every path tried with its reason and says how to fix it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import test from 'ava';

import { isRexragError } from '../../lib/errors.js';
import { addonCandidates, loadAddon } from '../../lib/native.js';

test('a failed load names each candidate, why it failed, and the fixes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rexrag-loader-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notAnAddon = join(dir, 'broken.node');
  writeFileSync(notAnAddon, 'this is not a shared object');
  const missing = join(dir, 'missing.node');
  const error = t.throws(() => loadAddon([missing, notAnAddon]));
  t.true(isRexragError(error, 'ERR_ADDON_LOAD'));
  t.regex(error!.message, new RegExp(`${missing}: not found`));
  t.regex(error!.message, new RegExp(`${notAnAddon}: .*(invalid ELF|too short|not a)`));
  t.regex(error!.message, /npm run bootstrap/);
  t.regex(error!.message, /REXRAG_ADDON/);
});

test('REXRAG_ADDON is tried first', (t) => {
  const previous = process.env.REXRAG_ADDON;
  process.env.REXRAG_ADDON = '/somewhere/custom.node';
  t.teardown(() => (previous === undefined ? delete process.env.REXRAG_ADDON : (process.env.REXRAG_ADDON = previous)));
  t.is(addonCandidates()[0], '/somewhere/custom.node');
  t.regex(addonCandidates()[1]!, /build\/Release\/rexrag\.node$/);
});
