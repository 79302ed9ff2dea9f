// Per-token component tags of a trajectory (who produced each token) and the loss mask derived from them.
// The numeric codes are REX-RAG's (generation.py component_mask); 2 (an old revision tag) and 6 (an unused
// "action prompt" tag) are not produced.
import { describe } from '../validate.js';

export const COMPONENT = {
  /** The question prompt (chat template included). */
  prompt: 0,
  /** Sampled by the policy. */
  model: 1,
  /** The invalid-action notice. */
  invalid: 3,
  /** Retrieved documents (`<information>` observation). */
  information: 4,
  /** An exploration prompt spliced into a REX-RAG probe. */
  'probe-prompt': 5,
} as const;

export type ComponentName = keyof typeof COMPONENT;
export type ComponentCode = (typeof COMPONENT)[ComponentName];

const NAMES = new Map<number, ComponentName>(
  (Object.entries(COMPONENT) as [ComponentName, ComponentCode][]).map(([name, code]) => [code, name]),
);

/** The name of a component code; RangeError for a code that is not one of COMPONENT's. */
export function componentName(code: number): ComponentName {
  const name = NAMES.get(code);
  if (name === undefined) throw new RangeError(`unknown component code ${describe(code)}`);
  return name;
}

/**
 * The loss mask of a token sequence from its components, as REX-RAG's `_create_loss_mask`: model output and
 * spliced probe prompts are trained on (1; REX copies probe-prompt tokens into the mask on purpose so that the
 * policy "learns to generate them"), prompt, retrieved information and invalid-action notices are not (0).
 */
export function lossMaskFromComponents(components: ArrayLike<number>): number[] {
  if (components === null || typeof components !== 'object' || typeof components.length !== 'number') {
    throw new TypeError(`components must be an array of component codes, got ${describe(components)}`);
  }
  const mask = new Array<number>(components.length);
  for (let i = 0; i < components.length; i++) {
    const name = componentName(components[i]!);
    mask[i] = name === 'model' || name === 'probe-prompt' ? 1 : 0;
  }
  return mask;
}
