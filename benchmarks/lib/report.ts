// Figures and how they are reported: each figure is {name, unit, value}, plus the baseline and the ratio when
// it is compared (ratio > 1 means rexrag is better, whichever way the unit points), plus a target when the
// issue sets one. Renders the printed table and the results JSON; collecting the figures is the workloads' job.

export interface Target {
  /** e.g. "ratio >= 1.5" */
  description: string;
  met: boolean;
}

export interface Figure {
  name: string;
  unit: string;
  /** rexrag's value; null when the workload failed or was skipped. */
  value: number | null;
  /** The reference's value (PyTorch, or exact search for retrieval). */
  baseline?: number | null;
  /** value/baseline when higher is better, baseline/value when lower is better: > 1 means rexrag is better. */
  ratio?: number | null;
  target?: Target;
  note?: string;
}

/** A figure compared with a baseline; `better` says which direction of the unit is good. */
export function compared(
  name: string,
  unit: string,
  value: number | null,
  baseline: number | null,
  better: 'higher' | 'lower',
  extra: { target?: (ratio: number) => Target; note?: string } = {},
): Figure {
  const valid = value !== null && baseline !== null && value > 0 && baseline > 0;
  const ratio = valid ? (better === 'higher' ? value / baseline : baseline / value) : null;
  const figure: Figure = { name, unit, value, baseline, ratio };
  if (extra.target) figure.target = ratio === null ? { ...extra.target(0), met: false } : extra.target(ratio);
  if (extra.note) figure.note = extra.note;
  return figure;
}

/** A target on the ratio: met when ratio >= `min`. */
export function ratioAtLeast(min: number): (ratio: number) => Target {
  return (ratio) => ({ description: `ratio >= ${min}`, met: ratio >= min });
}

/** A figure without a baseline. */
export function single(name: string, unit: string, value: number | null, extra: { target?: Target; note?: string } = {}): Figure {
  return { name, unit, value, ...extra };
}

function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude === 0) return '0';
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 100) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  if (magnitude >= 0.01) return value.toFixed(3);
  return value.toExponential(2);
}

/** Table rows (strings) of the figures. */
export function tableRows(figures: Figure[]): string[][] {
  return figures.map((f) => [
    f.name,
    f.unit,
    f.unit === 'bool' && f.value !== null ? (f.value ? 'yes' : 'no') : formatNumber(f.value),
    f.baseline === undefined ? '' : formatNumber(f.baseline),
    f.ratio === undefined || f.ratio === null ? (f.baseline === undefined ? '' : '-') : `${f.ratio.toFixed(2)}x`,
    f.target ? `${f.target.met ? 'met' : 'NOT met'} (${f.target.description})` : '',
    f.note ?? '',
  ]);
}

export const TABLE_HEADER = ['figure', 'unit', 'rexrag', 'baseline', 'ratio', 'target', 'note'];

/** A fixed-width text table for the terminal. */
export function renderTable(figures: Figure[]): string {
  const rows = [TABLE_HEADER, ...tableRows(figures)];
  const widths = TABLE_HEADER.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown (for benchmarks/README.md). */
export function renderMarkdownTable(figures: Figure[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const rows = tableRows(figures);
  return [
    `| ${TABLE_HEADER.join(' | ')} |`,
    `|${TABLE_HEADER.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}
