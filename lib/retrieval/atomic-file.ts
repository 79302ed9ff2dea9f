// Crash-safe file replacement: write a temporary sibling, fsync it, rename it over the target, fsync the folder.
// A reader sees either the old file or the complete new one, never a torn write. Nothing else lives here.
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary name next to `path` (same folder, so rename is atomic on POSIX). */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
}

/** Writes `data` to `path` atomically (temp file + fsync + rename + folder fsync). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporarySibling(path);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(data);
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
