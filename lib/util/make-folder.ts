// Creating folders without Node's recursive mkdir, which spins forever on paths it cannot create under some
// pseudo file systems (`mkdir -p /proc/x` keeps getting ENOENT and retrying). Each missing level is made with a
// plain mkdir, so any refusal becomes one clear ERR_IO naming the path.
import { randomBytes } from 'node:crypto';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { RexragError } from '../errors.js';

/** The closest folder at or above `path` that exists (the root at worst), and the missing levels below it. */
async function existingAncestor(path: string): Promise<{ ancestor: string; missing: string[]; isFolder: boolean }> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    const found = await stat(current).catch(() => undefined);
    if (found) return { ancestor: current, missing, isFolder: found.isDirectory() };
    const parent = dirname(current);
    if (parent === current) return { ancestor: current, missing, isFolder: false };
    missing.unshift(current);
    current = parent;
  }
}

/** `mkdir -p path` level by level; returns the absolute path. A file in the way or a refusal is an ERR_IO. */
export async function makeFolder(path: string): Promise<string> {
  const { ancestor, missing, isFolder } = await existingAncestor(path);
  if (!isFolder) throw new RexragError(`cannot create the folder ${path}: ${ancestor} is not a folder`, 'ERR_IO');
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      // Another writer may have made it in between; anything else is a real refusal.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(level)).isDirectory()) continue;
      throw new RexragError(`cannot create the folder ${path}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
    }
  }
  return resolve(path);
}

/**
 * Checks, without leaving anything behind, that the folder `path` exists or can be created and that files can be
 * made in it: a scratch folder is created and removed in the closest existing level (this catches read-only
 * and pseudo file systems, which `access(W_OK)` passes for root). Returns the problem, or undefined.
 */
export async function folderWriteProblem(path: string): Promise<string | undefined> {
  const { ancestor, isFolder } = await existingAncestor(path);
  if (!isFolder) return `${ancestor} is not a folder`;
  const probe = join(ancestor, `.rexrag-write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(probe);
  } catch (error) {
    return `nothing can be created in ${ancestor} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  await rmdir(probe).catch(() => undefined);
  return undefined;
}
