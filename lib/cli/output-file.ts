// Output paths checked before any work starts: a command that would only fail to write its result after a
// long run (a folder given as --out, a missing or read-only folder) refuses at once, naming the path.
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { CliUsageError } from './usage.js';

/** Checks that `path` can be written as a file: not a folder, in an existing folder this process may write to. */
export async function checkOutputFile(path: string, flag: string): Promise<string> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliUsageError(`--${flag} ${path} is a folder; give a file path`);
  try {
    await access(dirname(target), constants.W_OK);
  } catch {
    throw new CliUsageError(`--${flag} ${path}: the folder ${dirname(target)} does not exist or is not writable`);
  }
  return target;
}
