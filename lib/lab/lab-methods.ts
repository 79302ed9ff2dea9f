// The methods the lab can compare: GRPO, REX-RAG, and REX-RAG's ablations (no policy correction, no trajectory
// filter, the coarse prompt density). Each is one RL configuration over the same lab settings.
import type { RlConfig } from '../config/rl-config.js';

export const LAB_METHODS = ['grpo', 'rex-rag', 'rex-rag-no-correction', 'rex-rag-no-filter', 'rex-rag-coarse'] as const;
export type LabMethod = (typeof LAB_METHODS)[number];

/** What each method changes, for help texts and reports. */
export const LAB_METHOD_NOTES: Record<LabMethod, string> = {
  grpo: 'plain GRPO, no probes',
  'rex-rag': 'REX-RAG as the reference: probes, the mixture correction, the trajectory filter',
  'rex-rag-no-correction': 'REX-RAG with probe tokens treated as on-policy (rex.correction none)',
  'rex-rag-no-filter': 'REX-RAG keeping every probe (rex.filter false)',
  'rex-rag-coarse': "REX-RAG with the prompt's 1/N charged to its first token (rex.correction coarse)",
};

/** The RL configuration of `method` on top of the lab's shared settings. */
export function methodConfig(method: LabMethod, rl: RlConfig): RlConfig {
  if (method === 'grpo') return { ...rl, algorithm: 'grpo' };
  const rex = { ...rl.rex };
  if (method === 'rex-rag-no-correction') rex.correction = 'none';
  if (method === 'rex-rag-no-filter') rex.filter = false;
  if (method === 'rex-rag-coarse') rex.correction = 'coarse';
  return { ...rl, algorithm: 'rex-rag', rex };
}

/** Parses a comma-separated method list (order kept, duplicates refused). */
export function parseLabMethods(text: string): LabMethod[] {
  const names = text.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new RangeError('the method list is empty');
  for (const name of names) {
    if (!(LAB_METHODS as readonly string[]).includes(name)) throw new RangeError(`unknown method "${name}": the lab's methods are ${LAB_METHODS.join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new RangeError(`a method is listed twice in "${text}"`);
  return names as LabMethod[];
}
