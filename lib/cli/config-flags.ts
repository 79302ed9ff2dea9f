// Command-line flags that set keys of a config section (`--max-turns 3` → rollout.maxTurns = 3). The section's
// zod schema stays the one source of defaults, checks and descriptions: flags only name keys, and the help
// text is generated from the schema.
import type { z } from 'zod';

import { valueFlags, type OptionSpec, type OptionValues } from './parse.js';
import { CliUsageError } from './usage.js';

/** Flag name → key of the section. */
export type FlagTable = Readonly<Record<string, string>>;

/** The rollout section's flags, shared by `rollout` and `eval`. */
export const ROLLOUT_FLAGS: FlagTable = {
  'max-turns': 'maxTurns',
  'max-response-tokens': 'maxResponseTokensPerTurn',
  'max-obs-tokens': 'maxObservationTokens',
  'max-context-tokens': 'maxContextTokens',
  topk: 'topk',
  temperature: 'temperature',
  'top-p': 'topP',
  'top-k': 'topK',
  'invalid-notice': 'invalidNotice',
  cohorts: 'cohorts',
};

/** The rollout flags that matter to greedy evaluation (no sampling settings). */
export const EVAL_ROLLOUT_FLAGS: FlagTable = Object.fromEntries(
  Object.entries(ROLLOUT_FLAGS).filter(([flag]) => !['temperature', 'top-p', 'top-k'].includes(flag)),
);

/** parseArgs options for the flags of a table (every flag takes a value). */
export function flagOptions(table: FlagTable): OptionSpec {
  return valueFlags(...Object.keys(table));
}

/** A number when the text is one, else the text (enum values). */
function flagValue(raw: string): unknown {
  const number = Number(raw);
  return raw.trim() !== '' && Number.isFinite(number) ? number : raw;
}

/** The section from the flags given (the schema fills the rest); a bad value is a usage error naming its flag. */
export function sectionFromFlags<S extends z.ZodObject>(schema: S, table: FlagTable, values: OptionValues, base: Record<string, unknown> = {}): z.infer<S> {
  const input: Record<string, unknown> = { ...base };
  const flagOf = new Map<string, string>();
  for (const [flag, key] of Object.entries(table)) {
    flagOf.set(key, flag);
    const raw = values[flag];
    if (typeof raw === 'string') input[key] = flagValue(raw);
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new CliUsageError(`${flagOf.has(key) ? `--${flagOf.get(key)}` : key}: ${issue.message}`);
  }
  return result.data;
}

/** Help lines for the flags: `--flag VALUE  description (default X)`, from the schema. */
export function flagHelp(schema: z.ZodObject, table: FlagTable): string {
  const defaults = schema.parse({}) as Record<string, unknown>;
  const shape = schema.shape as Record<string, z.ZodType>;
  const rows = Object.entries(table).map(([flag, key]) => [`--${flag} ${key === 'invalidNotice' ? 'STYLE' : 'N'}`, `${shape[key]?.description ?? key} (default ${JSON.stringify(defaults[key])})`]);
  const width = Math.max(...rows.map(([left]) => left!.length));
  return rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`).join('\n');
}
