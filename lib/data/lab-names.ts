// Names of the lab world: lowercase words of 2-3 consonant-vowel syllables from a fixed set of 24, so that every
// name, seen or unseen, is a sequence of known syllable tokens. Which entity gets which name is lab-world.ts's job.
import type { RandomSource } from '../util/random.js';

/** The 24 syllables names are made of (consonant + vowel; no English template word is made of these alone). */
export const LAB_SYLLABLES: readonly string[] = [
  'ka', 'ko', 'ki', 'ku', 'lo', 'li', 'la', 'mi', 'mo', 'mu', 'ra', 'ru',
  'ri', 'vo', 'va', 'vi', 'ze', 'zu', 'ti', 'to', 'sa', 'su', 'nu', 'no',
];

/** Draws names no one has used yet; `taken` names (and those drawn) are never returned. */
export class LabNameGenerator {
  private readonly used: Set<string>;

  constructor(private readonly random: RandomSource, taken: Iterable<string> = []) {
    this.used = new Set(taken);
  }

  /** Marks a name as taken. */
  reserve(name: string): void {
    this.used.add(name);
  }

  /** A new name of `min`..`max` syllables. */
  name(min = 2, max = 3): string {
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const count = min + Math.floor(this.random() * (max - min + 1));
      let name = '';
      for (let i = 0; i < count; i++) name += LAB_SYLLABLES[Math.floor(this.random() * LAB_SYLLABLES.length)]!;
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
    throw new RangeError('the lab name generator ran out of names; ask for a smaller world');
  }

  /** A confusable name: `base` plus one syllable, new. */
  confusable(base: string): string {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const name = base + LAB_SYLLABLES[Math.floor(this.random() * LAB_SYLLABLES.length)]!;
      if (!this.used.has(name)) {
        this.used.add(name);
        return name;
      }
    }
    throw new RangeError(`no confusable name left for ${JSON.stringify(base)}`);
  }
}

/** Whether `text` is a lab name: 2 or more syllables of LAB_SYLLABLES. */
export function isLabName(text: string): boolean {
  if (text.length < 4 || text.length % 2 !== 0) return false;
  for (let i = 0; i < text.length; i += 2) if (!LAB_SYLLABLES.includes(text.slice(i, i + 2))) return false;
  return true;
}
