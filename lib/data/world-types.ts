// The data model of the synthetic world (plain JSON-able objects, so world.json round-trips) and the table of
// professions with the kind of work each produces. Generating, describing and questioning a world are left to
// world-generate.ts, world-corpus.ts and world-questions.ts.

export type EntityKind = 'person' | 'city' | 'country' | 'river' | 'language' | 'work';

export interface Person {
  /** Entity id, also the id of its corpus page, e.g. "person-007". */
  id: string;
  /** Full name, "Given Surname". */
  name: string;
  given: string;
  surname: string;
  profession: Profession;
  /** City id. */
  birthCity: string;
  /** Person id, or null when unmarried. Marriages are symmetric. */
  spouse: string | null;
  /** Work id (each person made exactly one work). */
  work: string;
}

export interface City {
  id: string;
  name: string;
  /** Country id. */
  country: string;
  /** River id: the one river that flows through the city. */
  river: string;
}

export interface Country {
  id: string;
  name: string;
  /** City id; the capital is one of the country's cities. */
  capital: string;
  /** Language id. */
  language: string;
}

export interface River {
  id: string;
  /** Full name, "Sevan River". */
  name: string;
  /** The name without "River", "Sevan" (an accepted answer alias). */
  shortName: string;
}

export interface Language {
  id: string;
  name: string;
}

export interface Work {
  id: string;
  title: string;
  kind: WorkKind;
  /** Person id. */
  creator: string;
  year: number;
}

export interface World {
  /** Format tag of world.json. */
  format: 'rexrag-world/1';
  seed: number;
  people: Person[];
  cities: City[];
  countries: Country[];
  rivers: River[];
  languages: Language[];
  works: Work[];
}

/** What each profession makes and the words that describe it. */
export const PROFESSIONS = {
  painter: { work: 'painting', verb: 'painted', participle: 'painted', role: 'painter' },
  poet: { work: 'poem', verb: 'wrote', participle: 'written', role: 'author' },
  novelist: { work: 'novel', verb: 'wrote', participle: 'written', role: 'author' },
  composer: { work: 'symphony', verb: 'composed', participle: 'composed', role: 'composer' },
  architect: { work: 'tower', verb: 'designed', participle: 'designed', role: 'architect' },
  engineer: { work: 'bridge', verb: 'built', participle: 'built', role: 'builder' },
  merchant: { work: 'trading company', verb: 'founded', participle: 'founded', role: 'founder' },
  physician: { work: 'hospital', verb: 'founded', participle: 'founded', role: 'founder' },
  astronomer: { work: 'observatory', verb: 'founded', participle: 'founded', role: 'founder' },
  teacher: { work: 'school', verb: 'founded', participle: 'founded', role: 'founder' },
} as const;

export type Profession = keyof typeof PROFESSIONS;
export type WorkKind = (typeof PROFESSIONS)[Profession]['work'];

/** The profession whose work kind is `kind`. */
export function professionOfWork(kind: WorkKind): (typeof PROFESSIONS)[Profession] {
  for (const profession of Object.values(PROFESSIONS)) if (profession.work === kind) return profession;
  throw new RangeError(`unknown work kind ${JSON.stringify(kind)}`);
}

/** "a" or "an" before `word` (by its first letter). */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** "A", "A and B", "A, B and C". */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
