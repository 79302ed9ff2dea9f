// `npm run bench -- --compare OLD.json`: every figure of a run next to the same figure of an earlier results
// file, with the relative change and whether it moved the good or the bad way, so a regression is visible.
import { readFileSync } from 'node:fs';

import type { Figure } from './report.js';

/** Which way a unit is good; figures of other units are compared without a verdict. */
const HIGHER_IS_BETTER = new Set(['tokens/s', 'queries/s', 'passages/s', 'GFLOP/s', 'GB/s', 'of limit', 'fraction', 'steps/s']);
// Parity errors (nats) get no verdict: they sit at float rounding, and their targets say when they matter.
const LOWER_IS_BETTER = new Set(['s', 'ms', 'MiB', 'GiB']);

/** Changes smaller than this share are reported as unchanged (run-to-run noise on a quiet machine is ~2-3%). */
export const NOISE = 0.03;

export interface FigureChange {
  name: string;
  unit: string;
  old: number | null;
  new: number | null;
  /** new / old - 1, null when either side is missing or zero. */
  change: number | null;
  verdict: 'better' | 'worse' | 'same' | 'new' | 'gone' | '';
  oldRatio: number | null;
  newRatio: number | null;
}

/** The figures of a results file written by `npm run bench`. */
export function readResultFigures(path: string): Figure[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--compare: cannot read ${path} as a results file: ${(error as Error).message}`);
  }
  const results = (parsed as { results?: unknown }).results;
  if (!Array.isArray(results) || !results.every((f) => typeof f === 'object' && f !== null && typeof f.name === 'string')) {
    throw new Error(`--compare: ${path} has no "results" list of figures (is it a benchmarks/results/*.json file?)`);
  }
  return results as Figure[];
}

function verdictOf(unit: string, change: number | null, oldValue: number | null, newValue: number | null): FigureChange['verdict'] {
  if (unit === 'bool') return oldValue === newValue ? 'same' : newValue ? 'better' : 'worse';
  if (change === null) return '';
  if (Math.abs(change) < NOISE) return 'same';
  if (HIGHER_IS_BETTER.has(unit)) return change > 0 ? 'better' : 'worse';
  if (LOWER_IS_BETTER.has(unit)) return change < 0 ? 'better' : 'worse';
  return '';
}

/** Every figure of either run, in the new run's order (figures only in the old run last). */
export function compareFigures(oldFigures: readonly Figure[], newFigures: readonly Figure[]): FigureChange[] {
  const oldByName = new Map(oldFigures.map((f) => [f.name, f]));
  const newNames = new Set(newFigures.map((f) => f.name));
  const changes = newFigures.map((f): FigureChange => {
    const before = oldByName.get(f.name);
    if (!before) return { name: f.name, unit: f.unit, old: null, new: f.value, change: null, verdict: 'new', oldRatio: null, newRatio: f.ratio ?? null };
    const change = before.value && f.value !== null ? f.value / before.value - 1 : null;
    return {
      name: f.name, unit: f.unit, old: before.value, new: f.value, change,
      verdict: verdictOf(f.unit, change, before.value, f.value), oldRatio: before.ratio ?? null, newRatio: f.ratio ?? null,
    };
  });
  for (const f of oldFigures) {
    if (!newNames.has(f.name)) changes.push({ name: f.name, unit: f.unit, old: f.value, new: null, change: null, verdict: 'gone', oldRatio: f.ratio ?? null, newRatio: null });
  }
  return changes;
}

const num = (value: number | null) => (value === null ? '-' : Math.abs(value) >= 100 ? value.toFixed(1) : Math.abs(value) >= 0.01 ? value.toFixed(3) : value.toExponential(2));
const ratio = (value: number | null) => (value === null ? '-' : `${value.toFixed(2)}x`);

/** The comparison as a text table, worse figures marked so they stand out. */
export function renderComparison(changes: readonly FigureChange[], oldLabel: string): string {
  const header = ['figure', 'unit', 'before', 'now', 'change', 'verdict', 'ratio before -> now'];
  const rows = changes.map((c) => [
    c.name, c.unit, num(c.old), num(c.new), c.change === null ? '' : `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(1)}%`,
    c.verdict === 'worse' ? 'WORSE' : c.verdict, c.oldRatio === null && c.newRatio === null ? '' : `${ratio(c.oldRatio)} -> ${ratio(c.newRatio)}`,
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const worse = changes.filter((c) => c.verdict === 'worse').length;
  const better = changes.filter((c) => c.verdict === 'better').length;
  return [
    `compared with ${oldLabel} (changes under ${NOISE * 100}% count as the same): ${better} better, ${worse} worse`,
    line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line),
  ].join('\n');
}
