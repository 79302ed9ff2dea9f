// Thin wrapper over node:util parseArgs that turns its errors into CliUsageError and handles --help.
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { CliUsageError } from './usage.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Parses `argv` strictly; returns undefined after printing `usage` when --help is given. */
export function parseCommandArgs(argv: string[], options: OptionSpec, usage: string): OptionValues | undefined {
  let values: OptionValues;
  try {
    values = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true }).values;
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  return values;
}

/** Reads a string option; throws a usage error naming it when it is required and missing. */
export function stringOption(values: OptionValues, name: string, required: true): string;
export function stringOption(values: OptionValues, name: string, required?: false): string | undefined;
export function stringOption(values: OptionValues, name: string, required = false): string | undefined {
  const value = values[name];
  if (value === undefined) {
    if (required) throw new CliUsageError(`--${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new CliUsageError(`--${name} takes a value`);
  return value;
}

/** Parses a numeric option, naming it in the error. */
export function numberOption(values: OptionValues, name: string, fallback: number, range: { min?: number; max?: number; integer?: boolean } = {}): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const number = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(number)) throw new CliUsageError(`--${name} must be a number, got "${raw}"`);
  if (range.integer && !Number.isInteger(number)) throw new CliUsageError(`--${name} must be an integer, got "${raw}"`);
  if (range.min !== undefined && number < range.min) throw new CliUsageError(`--${name} must be >= ${range.min}, got ${number}`);
  if (range.max !== undefined && number > range.max) throw new CliUsageError(`--${name} must be <= ${range.max}, got ${number}`);
  return number;
}

/**
 * A seed flag: an integer in [0, 2^53). Larger numbers (1e30) are not exact integers in JavaScript, so two of
 * them could not be told apart; they are refused rather than folded into some other seed.
 */
export function seedOption(values: OptionValues, name: string, fallback: number): number {
  const raw = stringOption(values, name);
  const seed = numberOption(values, name, fallback, { integer: true, min: 0 });
  if (!Number.isSafeInteger(seed)) throw new CliUsageError(`--${name} must be an integer in [0, 2^53), got ${raw}`);
  return seed;
}

/** parseArgs options for flags that take a value. */
export function valueFlags(...names: string[]): OptionSpec {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' as const }]));
}

/** parseArgs options for flags without a value (switches). */
export function switchFlags(...names: string[]): OptionSpec {
  return Object.fromEntries(names.map((name) => [name, { type: 'boolean' as const }]));
}
