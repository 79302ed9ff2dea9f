// Crash-safe replacement of files and folders: write a temporary sibling, fsync it, rename it over the target,
// fsync the parent folder. A reader sees either the old content or the complete new one, never a torn write.
// The one place the project does atomic writes.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name next to `path` (same folder, so rename is atomic on POSIX), unique to this call. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` (text, bytes, or byte chunks in order) to `path` atomically (temp file + fsync + rename + folder fsync). */
export async function writeFileAtomic(path: string, data: string | Uint8Array | Iterable<Uint8Array>): Promise<void> {
  const temporary = temporarySibling(path);
  const handle = await open(temporary, 'w');
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else for (const chunk of data) await handle.writeFile(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await renameDurably(temporary, path);
}

/** Renames `from` to `to` and fsyncs the destination folder so the rename survives a crash. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncFolder(dirname(to));
}

/** fsyncs a folder (its entries), where the platform allows it. */
export async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Some platforms and file systems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * Puts the folder `staged` in place of `target` (which may not exist): the old folder is renamed aside, the new
 * one renamed in, the parent fsynced, then the old one deleted. A crash leaves either folder complete under
 * `target`, or the old one beside it under `<staged>.old`.
 */
export async function replaceFolder(staged: string, target: string): Promise<void> {
  const old = `${staged}.old`;
  const hadTarget = await stat(target).then(() => true, () => false);
  if (hadTarget) await rename(target, old);
  await renameDurably(staged, target);
  if (hadTarget) await rm(old, { recursive: true, force: true });
}
