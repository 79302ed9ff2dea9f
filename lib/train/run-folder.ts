// Housekeeping of a run folder when a run starts or resumes: leftovers of a crash are removed, and the metrics
// log is cut back to the checkpoint the run resumes from, so every step has exactly one line.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { writeFileAtomic } from '../util/atomic-file.js';

/**
 * Temporary siblings that atomic writers leave behind when killed: `.name.tmp-…` and `.name.tmp-….old`, and
 * `latest.json.tmp-…`, the undotted name earlier versions of the checkpoint writer used.
 */
const TEMPORARY = /^(\..+\.tmp-[0-9a-f-]+(\.old)?|latest\.json\.tmp-[0-9a-f]+)$/;

/** Removes the crash leftovers in `dir` (half-written checkpoints, models and files); returns their names. */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const stale = names.filter((name) => TEMPORARY.test(name));
  for (const name of stale) await rm(join(dir, name), { recursive: true, force: true });
  return stale;
}

/** Removes the crash leftovers of a run folder: in it, in its checkpoints/ and in its samples/. */
export async function removeRunLeftovers(runDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [runDir, join(runDir, 'checkpoints'), join(runDir, 'samples')]) removed.push(...(await removeStaleTemporaries(dir)));
  return removed;
}

/**
 * Keeps the lines of `metrics.jsonl` up to step `step` (the checkpoint a run resumes from) and drops the later
 * ones, which the resumed run writes again. Atomic; a missing file is left missing.
 */
export async function truncateMetrics(path: string, step: number): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 0;
  }
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const kept = lines.filter((line) => {
    try {
      return (JSON.parse(line) as { step?: unknown }).step as number <= step;
    } catch {
      return false; // a line torn by a crash
    }
  });
  if (kept.length !== lines.length) await writeFileAtomic(path, kept.map((line) => `${line}\n`).join(''));
  return lines.length - kept.length;
}
