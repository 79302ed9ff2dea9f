// The paper's evaluation table: EM, F1 and n per data source (benchmark), their unweighted average over sources
// (REX-RAG and Search-R1 average the per-benchmark EMs) and the pooled figures, plus a Markdown rendering.
// Producing the per-question scores (rollouts) is left to run-eval.ts.
import { scoreAnswer } from '../reward/qa-em.js';
import type { RolloutQuestion, Trajectory } from '../rollout/rollout-types.js';

/** The group of questions without a data_source. */
export const NO_SOURCE = '(none)';

/** One question's result. */
export interface QuestionScore {
  id: string;
  dataSource: string;
  em: number;
  f1: number;
}

/** EM / F1 per source, their mean over sources, and the pooled mean over all questions. */
export interface SourceTable {
  bySource: Record<string, { em: number; f1: number; n: number }>;
  average: { em: number; f1: number };
  overall: { em: number; f1: number; n: number };
}

/** The source name a question is grouped under. */
export function sourceOf(item: { dataSource?: string | undefined }): string {
  return item.dataSource ?? NO_SOURCE;
}

/** Scores of original (non-probe) trajectories: EM and F1 of the last answer against the golds. */
export function scoreTrajectories(trajectories: readonly Trajectory[]): QuestionScore[] {
  return trajectories.filter((t) => !t.isProbe).map((t) => ({
    id: String(t.questionId),
    dataSource: sourceOf(t),
    em: scoreAnswer(t.responseText, t.golds, { metric: 'em' }),
    f1: scoreAnswer(t.responseText, t.golds, { metric: 'f1' }),
  }));
}

/**
 * Groups scores by source (sources in order of first appearance): per-source means and n, the unweighted mean of
 * the per-source means (`average`), and the mean over all questions (`overall`). No scores gives zeros.
 */
export function aggregateBySource(scores: readonly QuestionScore[]): SourceTable {
  const groups = new Map<string, { em: number; f1: number; n: number }>();
  for (const score of scores) {
    const group = groups.get(score.dataSource) ?? { em: 0, f1: 0, n: 0 };
    group.em += score.em;
    group.f1 += score.f1;
    group.n += 1;
    groups.set(score.dataSource, group);
  }
  const bySource: SourceTable['bySource'] = {};
  for (const [source, { em, f1, n }] of groups) bySource[source] = { em: em / n, f1: f1 / n, n };
  const means = Object.values(bySource);
  const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  return {
    bySource,
    average: { em: mean(means.map((m) => m.em)), f1: mean(means.map((m) => m.f1)) },
    overall: { em: mean(scores.map((s) => s.em)), f1: mean(scores.map((s) => s.f1)), n: scores.length },
  };
}

/**
 * Flat metric keys for metrics.jsonl: `eval/<source>/em`, `eval/<source>/f1`, `eval/<source>/n` and
 * `eval/avg_em`, `eval/avg_f1`. Questions without a data source get no per-source keys (eval/em covers them).
 */
export function sourceMetrics(table: SourceTable): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const [source, { em, f1, n }] of Object.entries(table.bySource)) {
    if (source === NO_SOURCE) continue;
    metrics[`eval/${source}/em`] = em;
    metrics[`eval/${source}/f1`] = f1;
    metrics[`eval/${source}/n`] = n;
  }
  metrics['eval/avg_em'] = table.average.em;
  metrics['eval/avg_f1'] = table.average.f1;
  return metrics;
}

/** The first `limit` questions of each source, in file order (0 or undefined: all). */
export function limitPerSource<Q extends RolloutQuestion>(questions: readonly Q[], limit: number | undefined): Q[] {
  if (!limit) return [...questions];
  const taken = new Map<string, number>();
  return questions.filter((question) => {
    const source = sourceOf(question);
    const count = taken.get(source) ?? 0;
    taken.set(source, count + 1);
    return count < limit;
  });
}

/**
 * The table as Markdown, one row per labelled result (a model, or a checkpoint step), one column per source
 * (union over rows, first-seen order) then `avg` and `overall`; each cell is `EM / F1` in percent, and the header
 * gives n per source (from the first row that has the source).
 */
export function formatSourceTable(rows: readonly { label: string; table: SourceTable }[], firstColumn = 'model'): string {
  const sources: string[] = [];
  const counts = new Map<string, number>();
  for (const { table } of rows) {
    for (const [source, { n }] of Object.entries(table.bySource)) {
      if (!counts.has(source)) {
        sources.push(source);
        counts.set(source, n);
      }
    }
  }
  const pct = (value: number) => (100 * value).toFixed(1);
  const cell = (value: { em: number; f1: number } | undefined) => (value ? `${pct(value.em)} / ${pct(value.f1)}` : '-');
  const header = [firstColumn, ...sources.map((s) => `${s} (n=${counts.get(s)})`), 'avg', `overall`];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map(({ label, table }) =>
      `| ${[label, ...sources.map((s) => cell(table.bySource[s])), cell(table.average), `${cell(table.overall)} (n=${table.overall.n})`].join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n\nEM / F1 in %; avg is the unweighted mean over sources (the paper's Avg), overall pools every question.\n`;
}
