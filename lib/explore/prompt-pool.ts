// REX-RAG's pool of exploration prompts (method doc §3.4): 30 one-sentence, first-person cues of self-doubt, each
// opening with a literal `<think>`, spliced into a probe where its wrong answer was cut. Written for rexrag, in the
// reference pool's style (not its text). Tokenizing them and drawing one is prompt-trie.ts's job.
import { describe, expectArray } from '../validate.js';

/**
 * The default pool. Each prompt is `<think>` + a space + one sentence; none names the question, retrieval or a
 * particular fix. Openers follow the reference pool's first-word distribution (§3.4): "I" 8, "Perhaps" 3,
 * "It's" 3, "Maybe" 3, "There" 2, "Reflecting" 2, "Possibly" 2, "Concerned" 2, and five other openers once each.
 */
export const EXPLORATION_PROMPTS: readonly string[] = Object.freeze([
  // "I" (8)
  '<think> I should double-check my reasoning, since I may have skipped an important detail.',
  '<think> I am not sure my answer holds up; my reasoning may be off somewhere.',
  '<think> I suspect I drew my conclusion too quickly and did not weigh everything.',
  '<think> I might have misunderstood the task, so my answer could well be wrong.',
  '<think> I feel uneasy about that answer, as I may have mixed up some facts.',
  '<think> I wonder whether I trusted a weak clue and reached the wrong conclusion.',
  '<think> I could have overlooked a key detail while working this out just now.',
  '<think> I need to be careful here, because my last reasoning may contain a mistake.',
  // "Perhaps" (3)
  '<think> Perhaps I jumped to a conclusion before thinking everything through.',
  '<think> Perhaps my reasoning took a wrong turn somewhere along the way.',
  '<think> Perhaps I confused two similar facts and picked the wrong one.',
  // "It's" (3)
  "<think> It's possible that I misjudged something and gave a mistaken answer.",
  "<think> It's worth admitting that my last step may not have been correct.",
  "<think> It's likely that I missed a detail that would change my answer.",
  // "Maybe" (3)
  '<think> Maybe my answer was premature and I have not verified it properly.',
  '<think> Maybe I relied on an assumption that does not actually hold here.',
  '<think> Maybe I read things too hastily and missed what really matters.',
  // "There" (2)
  '<think> There might be a gap in my reasoning that I did not notice before.',
  '<think> There is a chance I made an error, so my conclusion deserves another look.',
  // "Reflecting" (2)
  '<think> Reflecting on my steps, I am not convinced that my answer is right.',
  '<think> Reflecting again, I may have ignored something that points elsewhere.',
  // "Possibly" (2)
  '<think> Possibly I mixed up the details, which would make my answer unreliable.',
  '<think> Possibly I stopped too early, before I could be sure of my answer.',
  // "Concerned" (2)
  '<think> Concerned that I erred, I want to revisit my previous conclusion.',
  '<think> Concerned about my reasoning, I suspect that I may have missed something.',
  // five other openers, once each
  '<think> Looking over my work, I realize my answer may rest on a mistake.',
  '<think> Wait, I am not certain that my reasoning really supports that answer.',
  '<think> Honestly, I may have been too confident in a conclusion that could be wrong.',
  '<think> Hmm, something about my answer feels off, and I may have slipped up.',
  '<think> Thinking it over, I might have overlooked a detail that matters here.',
]);

/**
 * The pool to use: the default when `custom` is undefined, else a frozen copy of `custom` after checking that it
 * is a non-empty array of non-empty, pairwise distinct strings. Custom prompts are not required to start with
 * `<think>` (the reference's alternative pools include one without it), but the probe-policy density assumes
 * all prompts share their first token (see prompt-trie.ts).
 */
export function resolvePromptPool(custom?: readonly string[]): readonly string[] {
  if (custom === undefined) return EXPLORATION_PROMPTS;
  const prompts = expectArray(custom, 'prompts');
  if (prompts.length === 0) throw new RangeError('prompts must contain at least one prompt');
  const seen = new Map<string, number>();
  prompts.forEach((prompt, i) => {
    if (typeof prompt !== 'string') throw new TypeError(`prompts[${i}] must be a string, got ${describe(prompt)}`);
    if (prompt.length === 0) throw new RangeError(`prompts[${i}] must not be empty`);
    const earlier = seen.get(prompt);
    if (earlier !== undefined) throw new RangeError(`prompts[${i}] repeats prompts[${earlier}] (${describe(prompt)}); prompts must be distinct`);
    seen.set(prompt, i);
  });
  return Object.freeze([...(prompts as string[])]);
}
