// The README's run-configuration table lists every option of the run schema: walking the zod schema (the one
// source of option names) finds each leaf key and looks for its row, so a new option cannot go undocumented.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import test from 'ava';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { packageRoot } from '../helpers/paths.js';

interface SchemaLike {
  shape?: Record<string, SchemaLike>;
  unwrap?: () => SchemaLike;
}

/** Leaf option paths of an object schema (defaults and optionals unwrapped), e.g. `rex.keepRatio`. */
function leafPaths(schema: SchemaLike, prefix = ''): string[] {
  let node = schema;
  while (node.shape === undefined && typeof node.unwrap === 'function') node = node.unwrap();
  if (node.shape === undefined) return [prefix];
  return Object.entries(node.shape).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

/** Whether a table row documents `path`: it names it in full, or names its section (`rex.*`) and the key. */
function documented(rows: string[], path: string): boolean {
  const key = path.split('.').at(-1)!;
  const section = path.split('.').slice(0, -1).join('.');
  const word = new RegExp(`\\b${key}\\b`);
  return rows.some((row) => row.includes(`\`${path}\``) || (section !== '' && row.includes(`\`${section}.*\``) && word.test(row)) || (section === '' && word.test(row.split('|')[1] ?? '')));
}

test('every run-config option has a row in the README table of "Training from the command line"', (t) => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Training from the command line');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 10));
  const rows = section.split('\n').filter((line) => line.startsWith('|'));
  const paths = leafPaths(rlConfigSchema as unknown as SchemaLike);
  t.true(paths.length > 40, `found ${paths.length} options`);
  const missing = paths.filter((path) => !documented(rows, path));
  t.deepEqual(missing, [], `options missing from the README: ${missing.join(', ')}`);
});
