// Mutations of run configuration files and --set overrides, resolved with resolveConfig(rlConfigSchema): odd
// values at real keys, unknown and hostile keys (__proto__), broken YAML/JSON, alias bombs, deep nesting.
import { writeFileSync } from 'node:fs';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { oddValue, type Draw } from './fuzz-random.js';

const KEYS = ['algorithm', 'steps', 'questionsPerStep', 'groupSize', 'seed', 'rollout.maxTurns', 'rollout.maxContextTokens', 'rollout.topK',
  'rollout.topP', 'rollout.temperature', 'rollout.cohorts', 'rex.probeProbability', 'rex.promptPool', 'rex.poolSize', 'trainer.loss.clipLow',
  'trainer.loss.klType', 'trainer.loss.temperature', 'trainer.optimizer.lr', 'trainer.optimizer.schedule', 'trainer.step.miniBatchSize',
  'trainer.reference', 'eval.every', 'checkpoint.keepLast', 'samples.count', 'nope', 'rollout.nope', 'trainer.loss.nope', '__proto__.polluted',
  'constructor.prototype.x', 'a..b', '', 'rollout', 'trainer'];

function setDeep(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    // Own properties only: `__proto__` must become a plain key of the file, never Object.prototype itself.
    if (!Object.hasOwn(node, key) || typeof node[key] !== 'object' || node[key] === null) Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
    node = node[key] as Record<string, unknown>;
  }
  Object.defineProperty(node, keys[keys.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

const RAW_FILES = [
  'a: &a [1,2]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
  'steps: [', '{"steps": 1,,}', '- 1\n- 2\n', '"just a string"', 'steps: !!js/function "() => 1"', '\u0000\u0001', '', '~',
  `${'['.repeat(5000)}${']'.repeat(5000)}`, 'steps: 1\nsteps: 2\n', 'rollout: {maxTurns: 1e400}', 'seed: 0x1p3', 'seed: .inf',
];

export interface ConfigCase {
  file?: string;
  overrides: string[];
  description: string;
}

/** Writes the case's file (when it has one) to `path` and returns what resolveConfig is given. */
export function makeConfigCase(draw: Draw, path: string): ConfigCase {
  const overrides = Array.from({ length: draw.int(3) }, () => {
    const value = draw.chance(0.3) ? draw.pick(['', '=', '{', '[1,', '"x"', 'null', '1e8', 'NaN', '-Infinity']) : JSON.stringify(oddValue(draw)) ?? 'undefined';
    return draw.chance(0.1) ? value : `${draw.pick(KEYS)}=${value}`;
  });
  if (draw.chance(0.3)) return { overrides, description: `overrides ${JSON.stringify(overrides).slice(0, 120)}` };
  const json = draw.chance(0.5);
  const file = `${path}.${json ? 'json' : 'yaml'}`;
  if (draw.chance(0.25)) {
    const raw = draw.pick(RAW_FILES);
    writeFileSync(file, raw);
    return { file, overrides, description: `raw file ${JSON.stringify(raw).slice(0, 80)}` };
  }
  const config: Record<string, unknown> = JSON.parse(JSON.stringify(rlConfigSchema.parse({}))) as Record<string, unknown>;
  for (let i = 0; i <= draw.int(3); i++) setDeep(config, draw.pick(KEYS.filter((k) => k !== '' && !k.includes('..'))), oddValue(draw));
  writeFileSync(file, JSON.stringify(config));  // JSON is valid YAML too
  return { file, overrides, description: `file with ${JSON.stringify(config).slice(0, 120)}` };
}
