// Output paths checked before any work starts: a command that would only fail to write its result after a
// long run (a folder given as --out, a missing, read-only or pseudo-file-system folder) refuses at once,
// naming the flag and the path. Every command that writes a file or a folder calls one of these first.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { folderWriteProblem } from '../util/make-folder.js';
import { CliUsageError } from './usage.js';

/** Checks that `path` can be written as a file: not a folder, in an existing folder where files can be made. */
export async function checkOutputFile(path: string, flag: string): Promise<string> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new CliUsageError(`--${flag} ${path} is a folder; give a file path`);
  const folder = await stat(dirname(target)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new CliUsageError(`--${flag} ${path}: the folder ${dirname(target)} does not exist or is not writable`);
  const problem = await folderWriteProblem(dirname(target));
  if (problem) throw new CliUsageError(`--${flag} ${path}: the folder ${dirname(target)} does not exist or is not writable: ${problem}`);
  return target;
}

/** Checks that `path` can be used as an output folder: a folder or nothing yet, creatable and writable. */
export async function checkOutputFolder(path: string, flag: string): Promise<string> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new CliUsageError(`--${flag} ${path} is a file; give a folder`);
  const problem = await folderWriteProblem(target);
  if (problem) throw new CliUsageError(`--${flag} ${path} cannot be written: ${problem}`);
  return target;
}
