// Argument checks for every public entry point: one helper per kind, each naming the argument, what was
// expected and what was received. TypeError for a wrong type, RangeError for a value out of range.

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return typeof value;
}

export function expectNumber(value: unknown, name: string, range: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  }
  checkRange(value, name, range);
  return value;
}

export function expectInteger(value: unknown, name: string, range: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  checkRange(value, name, range);
  return value;
}

export function expectString(value: unknown, name: string, options: { nonEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (options.nonEmpty && value.length === 0) throw new RangeError(`${name} must not be empty`);
  return value;
}

export function expectBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function expectObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function expectArray(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  return value;
}

/** An array or typed array of numbers (NaN refused), copied into a plain array. The one number-array checker. */
export function expectNumbers(value: unknown, name: string): number[] {
  if (value === null || typeof value !== 'object' || typeof (value as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${name} must be an array of numbers, got ${describe(value)}`);
  }
  const out = Array.from(value as ArrayLike<unknown>);
  out.forEach((v, i) => {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`${name}[${i}] must be a number, got ${describe(v)}`);
  });
  return out as number[];
}

/** An array of integer token ids, each in [0, vocabSize) when vocabSize is given. */
export function expectTokenIds(value: unknown, name: string, vocabSize?: number): number[] {
  const ids = expectArray(value, name);
  ids.forEach((id, i) => expectInteger(id, `${name}[${i}]`, { min: 0, max: vocabSize === undefined ? undefined : vocabSize - 1 }));
  return ids as number[];
}

function checkRange(value: number, name: string, { min, max }: { min?: number; max?: number }): void {
  if (min !== undefined && value < min) throw new RangeError(`${name} must be >= ${min}, got ${value}`);
  if (max !== undefined && value > max) throw new RangeError(`${name} must be <= ${max}, got ${value}`);
}
