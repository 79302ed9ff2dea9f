// Renders a chat template (@huggingface/jinja) within a budget: output characters and wall time, checked as the
// interpreter evaluates each node, and a `range()` that refuses huge lists before allocating them. A template
// that loops or balloons fails quickly with a LimitError instead of exhausting memory. Parsing is the caller's.
import { Environment, Interpreter, type Template } from '@huggingface/jinja';

import { LimitError } from '../errors.js';
import { expectInteger, expectObject } from '../validate.js';

export interface TemplateBudget {
  /** Longest text any part of the rendering may produce (the whole output included). Default 1 000 000. */
  maxOutputChars: number;
  /** Wall time the rendering may take, in ms. Default 2000. */
  timeoutMs: number;
  /** Most items `range()` may return (a for loop prepares a scope per item before running any). Default 100 000. */
  maxRangeItems: number;
}

export const DEFAULT_TEMPLATE_BUDGET: Readonly<TemplateBudget> = Object.freeze({ maxOutputChars: 1_000_000, timeoutMs: 2000, maxRangeItems: 100_000 });

/** The budget with defaults filled in and every field checked. */
export function resolveTemplateBudget(budget: Partial<TemplateBudget> = {}): TemplateBudget {
  expectObject(budget, 'options.budget');
  return {
    maxOutputChars: budget.maxOutputChars === undefined ? DEFAULT_TEMPLATE_BUDGET.maxOutputChars : expectInteger(budget.maxOutputChars, 'options.budget.maxOutputChars', { min: 1 }),
    timeoutMs: budget.timeoutMs === undefined ? DEFAULT_TEMPLATE_BUDGET.timeoutMs : expectInteger(budget.timeoutMs, 'options.budget.timeoutMs', { min: 1 }),
    maxRangeItems: budget.maxRangeItems === undefined ? DEFAULT_TEMPLATE_BUDGET.maxRangeItems : expectInteger(budget.maxRangeItems, 'options.budget.maxRangeItems', { min: 1 }),
  };
}

/** The part of the package's Interpreter used here (its .d.ts files use imports NodeNext cannot resolve). */
interface JinjaInterpreter {
  run(program: unknown): unknown;
  evaluate(statement: unknown, environment: unknown): unknown;
}
interface JinjaEnvironment {
  set(name: string, value: unknown): unknown;
}
const InterpreterBase = Interpreter as unknown as new (env: JinjaEnvironment) => JinjaInterpreter;
const EnvironmentClass = Environment as unknown as new () => JinjaEnvironment;

/** An Interpreter that checks the clock and the size of every value it produces. */
class BudgetedInterpreter extends InterpreterBase {
  private steps = 0;

  constructor(env: JinjaEnvironment, private readonly budget: TemplateBudget, private readonly deadline: number, private readonly source: string) {
    super(env);
  }

  override evaluate(statement: unknown, environment: unknown): unknown {
    // Reading the clock on every node would slow rendering down; every 64th keeps the overshoot tiny.
    if ((++this.steps & 63) === 0 && performance.now() > this.deadline) {
      throw new LimitError(`${this.source}: the chat template did not finish rendering within ${this.budget.timeoutMs} ms (a loop?)`,
        'timeoutMs', this.budget.timeoutMs, this.budget.timeoutMs);
    }
    const value = super.evaluate(statement, environment);
    const text = (value as { value?: unknown }).value;
    if (typeof text === 'string' && text.length > this.budget.maxOutputChars) {
      throw new LimitError(`${this.source}: the chat template produced ${text.length} characters, over the limit of ${this.budget.maxOutputChars}`,
        'maxOutputChars', text.length, this.budget.maxOutputChars);
    }
    return value;
  }
}

/**
 * Renders `template` with `items` as Template.render does (the same globals: true/false/none, raise_exception,
 * range, strftime_now), under `budget`. Throws a LimitError naming `source` when the budget runs out.
 */
export function renderTemplate(template: Template, items: Record<string, unknown>, budget: TemplateBudget, source: string): string {
  const env = new EnvironmentClass();
  for (const [name, value] of Object.entries({ true: true, false: false, none: null, True: true, False: false, None: null })) env.set(name, value);
  env.set('raise_exception', (message: unknown) => {
    throw new Error(String(message));
  });
  env.set('range', (start: number, stop?: number, step = 1) => boundedRange(start, stop, step, budget.maxRangeItems, source));
  env.set('strftime_now', (format: string) => strftime(new Date(), String(format)));
  for (const [name, value] of Object.entries(items)) env.set(name, value);
  const interpreter = new BudgetedInterpreter(env, budget, performance.now() + budget.timeoutMs, source);
  const result = interpreter.run(template.parsed) as { value: unknown };
  return String(result.value);
}

/** Python's range(), refusing more than `max` items before building the list. */
function boundedRange(start: number, stop: number | undefined, step: number, max: number, source: string): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (!Number.isFinite(count) || count > max) {
    throw new LimitError(`${source}: the chat template asks for range() of ${count} items, over the limit of ${max}`, 'maxRangeItems', count, max);
  }
  return Array.from({ length: count }, (_, i) => start + i * step);
}

/** The strftime subset @huggingface/jinja's strftime_now supports (%Y %m %d %b %B %H %M %%). */
function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y': return String(date.getFullYear());
      case '%m': return pad(date.getMonth() + 1);
      case '%d': return pad(date.getDate());
      case '%b': return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date);
      case '%B': return new Intl.DateTimeFormat(undefined, { month: 'long' }).format(date);
      case '%H': return pad(date.getHours());
      case '%M': return pad(date.getMinutes());
      default: return '%';
    }
  });
}
