// Resolves a configuration from a schema: defaults < a YAML or JSON file < `key.path=value` overrides.
// Unknown keys are errors (schemas are strict); every problem is reported with its key path.
import { readFile } from 'node:fs/promises';

import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';

import { RexragError } from '../errors.js';

/** Parses an override value: JSON when it parses (numbers, booleans, arrays, quoted strings), else the raw text. */
function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Sets `value` at a dotted `path` inside `target`, creating objects on the way. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
    throw new RexragError(`invalid config key "${path}"`, 'ERR_INVALID_ARG');
  }
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Formats zod issues as `path: message` lines. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

/** Validates `input` against `schema`, throwing RexragError('ERR_INVALID_ARG') that lists every problem. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new RexragError(`invalid configuration (${source}):\n${formatIssues(result.error)}`, 'ERR_INVALID_ARG');
  }
  return result.data;
}

/** Reads a YAML/JSON config file (an object at the top level). */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RexragError(`cannot read config file ${path}: ${(error as Error).message}`, 'ERR_IO');
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new RexragError(`config file ${path} does not parse: ${(error as Error).message}`, 'ERR_INVALID_ARG');
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new RexragError(`config file ${path} must hold an object at the top level`, 'ERR_INVALID_ARG');
  }
  return data as Record<string, unknown>;
}

/** defaults < file < overrides (`a.b=value`), validated by the schema. */
export async function resolveConfig<S extends z.ZodType>(
  schema: S,
  options: { file?: string; overrides?: string[] } = {},
): Promise<z.infer<S>> {
  const merged: Record<string, unknown> = options.file ? await readConfigFile(options.file) : {};
  for (const override of options.overrides ?? []) {
    const eq = override.indexOf('=');
    if (eq <= 0) throw new RexragError(`override "${override}" must look like key.path=value`, 'ERR_INVALID_ARG');
    setPath(merged, override.slice(0, eq), parseValue(override.slice(eq + 1)));
  }
  const sources = [options.file ? `file ${options.file}` : '', options.overrides?.length ? 'overrides' : '']
    .filter(Boolean)
    .join(' + ');
  return parseConfig(schema, merged, sources || 'defaults');
}
