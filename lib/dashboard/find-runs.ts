// Which folders are runs: a folder with a metrics.jsonl is a run; any other folder given is searched below for
// runs (checkpoints, samples, models and hidden folders skipped). Names are paths relative to what was given.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';

import { RexragError } from '../errors.js';

export interface RunFolder {
  /** A short unique name: the path below the folder given (or the run folder's own name). */
  name: string;
  /** Absolute path of the run folder. */
  dir: string;
}

/** Folders never searched for runs: they belong to a run and hold none. */
const SKIPPED = new Set(['checkpoints', 'samples', 'model', 'node_modules', 'index', 'world']);
const MAX_DEPTH = 4;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Run folders at or below `dir` (depth-limited), in name order. */
async function runsBelow(dir: string, depth: number): Promise<string[]> {
  if (await isFile(join(dir, 'metrics.jsonl'))) return [dir];
  if (depth >= MAX_DEPTH) return [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // a folder removed or unreadable while searching
  }
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || SKIPPED.has(entry.name)) continue;
    found.push(...(await runsBelow(join(dir, entry.name), depth + 1)));
  }
  return found;
}

/** Checks that every path given exists and is a folder; an ERR_INVALID_ARG names the first that is not. */
export async function checkRunPaths(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) throw new RexragError('give at least one run folder (or a folder that holds runs)', 'ERR_INVALID_ARG');
  const out: string[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new RexragError(`${path} does not exist`, 'ERR_INVALID_ARG');
    }
    if (!info.isDirectory()) throw new RexragError(`${path} is not a folder (give a run folder, or a folder that holds runs)`, 'ERR_INVALID_ARG');
    out.push(resolve(path));
  }
  return out;
}

/**
 * The runs at or below each folder given, each once, named by their path below the folder given (a run given
 * directly by its own folder name). Folders are searched again on every call, so runs that start later appear.
 */
export async function findRuns(roots: readonly string[]): Promise<RunFolder[]> {
  const runs: RunFolder[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    for (const dir of await runsBelow(root, 0)) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      const below = relative(root, dir).split(sep).join('/');
      runs.push({ name: below === '' ? basename(dir) : below, dir });
    }
  }
  // Two roots may give the same name (a/grpo and b/grpo given as a and b): prefix the root's own name.
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.name, (counts.get(run.name) ?? 0) + 1);
  return runs.map((run) => (counts.get(run.name)! > 1 ? { ...run, name: relative(resolve(run.dir, '..', '..'), run.dir).split(sep).join('/') } : run));
}
