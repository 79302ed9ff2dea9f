// Safe opening of the files of a model folder: only regular files are read (a FIFO, device or socket named
// config.json or model.safetensors would block the loader or stream without end), and a symbolic link may not
// lead outside the folder unless allowed. Parsing what is read is left to hf-config.ts and safetensors.ts.
import { constants } from 'node:fs';
import { lstat, open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, sep, isAbsolute } from 'node:path';
import type { Stats } from 'node:fs';

import { RexragError } from '../errors.js';

/** Names a model folder's loader reads (besides *.safetensors files). */
const MODEL_FOLDER_FILES = [
  'config.json', 'generation_config.json', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json',
  'special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja', 'chat_template.json',
];

/** Environment variable that lets symbolic links in a model folder lead anywhere (any value but '' or '0'). */
export const ALLOW_EXTERNAL_LINKS_ENV = 'REXRAG_ALLOW_EXTERNAL_LINKS';

export interface ModelFolderOptions {
  /** Follow symbolic links that leave the folder (default: REXRAG_ALLOW_EXTERNAL_LINKS, else false). */
  allowExternalLinks?: boolean;
}

function kindOf(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isDirectory()) return 'a directory';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(path: string, info: Stats): RexragError {
  return new RexragError(`${path} is ${kindOf(info)}, not a regular file; model files are read from regular files only`, 'ERR_INVALID_ARG');
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The folder links may lead into: the model folder itself, or, for a Hugging Face hub cache snapshot
 * (.../models--org--name/snapshots/<revision>, whose files link to ../../blobs/<hash>), the whole
 * models--org--name folder of that repository.
 */
export function linkRoot(realDir: string): string {
  const parent = dirname(realDir);
  const repo = dirname(parent);
  return basename(parent) === 'snapshots' && basename(repo).startsWith('models--') ? repo : realDir;
}

function externalLinksAllowed(options: ModelFolderOptions): boolean {
  if (options.allowExternalLinks !== undefined) return options.allowExternalLinks;
  const value = process.env[ALLOW_EXTERNAL_LINKS_ENV];
  return value !== undefined && value !== '' && value !== '0';
}

/**
 * Checks the files a loader will read in `dir` (the known names and every *.safetensors) before any is opened:
 * each must be a regular file, and a symbolic link must resolve inside linkRoot(dir) unless external links are
 * allowed. Absent files are left to the loader. Throws RexragError 'ERR_INVALID_ARG' naming the file.
 */
export async function checkModelFolder(dir: string, options: ModelFolderOptions = {}): Promise<void> {
  let entries: string[];
  let realDir: string;
  try {
    entries = await readdir(dir);
    realDir = await realpath(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // the loader names what is missing
    throw new RexragError(`cannot read the model folder ${dir}: ${(error as Error).message}`, 'ERR_IO', { cause: error });
  }
  const root = linkRoot(realDir);
  const names = entries.filter((name) => MODEL_FOLDER_FILES.includes(name) || name.endsWith('.safetensors'));
  for (const name of names.sort()) {
    const path = join(dir, name);
    const link = await lstat(path);
    if (link.isSymbolicLink()) {
      const target = await realpath(path).catch(() => undefined);
      if (target === undefined) throw new RexragError(`${path} is a symbolic link that leads nowhere`, 'ERR_INVALID_ARG');
      if (!isInside(target, root) && !externalLinksAllowed(options)) {
        throw new RexragError(
          `${path} is a symbolic link to ${target}, outside the model folder ${root}; pass { allowExternalLinks: true } ` +
            `or set ${ALLOW_EXTERNAL_LINKS_ENV}=1 to follow it`,
          'ERR_INVALID_ARG',
        );
      }
    }
    const info = link.isSymbolicLink() ? await stat(path) : link;
    if (!info.isFile()) throw notRegular(path, info);
  }
}

/**
 * Opens `path` for reading without ever blocking (O_NONBLOCK: a FIFO opens at once instead of waiting for a
 * writer) and refuses anything but a regular file, checked on the open descriptor so a file swapped after
 * checkModelFolder cannot slip through. The caller closes the handle. ENOENT and other open errors are thrown as is.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path, info);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The whole content of a regular file (see openRegularFile). */
export async function readRegularFile(path: string): Promise<Buffer> {
  const handle = await openRegularFile(path);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}
