// Generates the lab world: three disjoint sub-worlds (train, dev, test) of countries, cities, people, films and
// companies with syllable names, confusable distractor people and cities, one page per entity, and every
// question of every template. Writing it to files is lab-world-files.ts's job.
import { keyedRandom, type RandomSource } from '../util/random.js';
import { expectInteger, expectObject } from '../validate.js';
import { LabNameGenerator } from './lab-names.js';
import { LAB_TEMPLATES, labPageContents, type LabKind } from './lab-templates.js';

export type LabSplit = 'train' | 'dev' | 'test';
export const LAB_SPLITS: readonly LabSplit[] = ['train', 'dev', 'test'];

export interface LabEntity {
  id: string;
  kind: LabKind;
  name: string;
  split: LabSplit;
  /** The entity this one's relation points to (person → birth city, city → country, film → director, company → founder); null for countries. */
  link: string | null;
  /** A confusable copy of a real entity's name (never a question's subject). */
  distractor: boolean;
}

export interface LabWorld {
  format: 'rexrag-lab-world/1';
  seed: number;
  entities: LabEntity[];
}

/** Entities per split. */
export interface LabWorldSizes {
  countries: number;
  cities: number;
  people: number;
  films: number;
  companies: number;
  /** Distractor people (a real person's name plus one syllable, born elsewhere). */
  distractorPeople: number;
  /** Distractor cities (a real city's name plus one syllable, in another country). */
  distractorCities: number;
}

export interface LabQuestion {
  id: string;
  question: string;
  golds: string[];
  /** The template and its hop count, e.g. "country-of-birth/2". */
  data_source: string;
  hops: 1 | 2 | 3;
  split: LabSplit;
  /** Entity ids from the subject to the answer (hops + 1 of them). */
  chain: string[];
}

export const DEFAULT_LAB_SIZES: LabWorldSizes = { countries: 5, cities: 15, people: 40, films: 25, companies: 25, distractorPeople: 12, distractorCities: 5 };

function pickFrom<T>(random: RandomSource, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('cannot pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}

/**
 * Generates the world: for each split its own entities (no name is shared by any two entities of the world), every
 * country with at least one city, links drawn within the split. Same seed and sizes: the same world.
 */
export function generateLabWorld(options: { seed: number; sizes?: Partial<LabWorldSizes> }): LabWorld {
  expectObject(options, 'options');
  const seed = expectInteger(options.seed, 'options.seed', { min: 0, max: 2 ** 32 - 1 });
  const sizes = { ...DEFAULT_LAB_SIZES, ...(options.sizes ?? {}) };
  for (const [key, value] of Object.entries(sizes)) expectInteger(value, `options.sizes.${key}`, { min: key.startsWith('distractor') ? 0 : 1, max: 5000 });
  if (sizes.cities < sizes.countries) throw new RangeError(`options.sizes.cities (${sizes.cities}) must be at least options.sizes.countries (${sizes.countries})`);
  const names = new LabNameGenerator(keyedRandom(seed, 'lab-names'));
  const entities: LabEntity[] = [];
  for (const split of LAB_SPLITS) {
    const random = keyedRandom(seed, `lab-links:${split}`);
    const make = (kind: LabKind, count: number, link: (i: number) => string | null) => {
      const made: LabEntity[] = [];
      for (let i = 0; i < count; i++) {
        made.push({ id: `${split}-${kind}-${String(i).padStart(3, '0')}`, kind, name: names.name(), split, link: link(i), distractor: false });
      }
      entities.push(...made);
      return made;
    };
    const countries = make('country', sizes.countries, () => null);
    const cities = make('city', sizes.cities, (i) => (i < countries.length ? countries[i]!.id : pickFrom(random, countries).id));
    const people = make('person', sizes.people, () => pickFrom(random, cities).id);
    make('film', sizes.films, () => pickFrom(random, people).id);
    make('company', sizes.companies, () => pickFrom(random, people).id);
    const distract = (kind: 'person' | 'city', count: number, originals: LabEntity[], targets: LabEntity[]) => {
      for (let i = 0; i < count; i++) {
        const original = pickFrom(random, originals);
        const others = targets.filter((t) => t.id !== original.link);
        entities.push({
          id: `${split}-${kind}-x${String(i).padStart(3, '0')}`, kind, name: names.confusable(original.name), split,
          link: pickFrom(random, others.length > 0 ? others : targets).id, distractor: true,
        });
      }
    };
    distract('person', sizes.distractorPeople, people, cities);
    distract('city', sizes.distractorCities, cities, countries);
  }
  return { format: 'rexrag-lab-world/1', seed, entities };
}

/** Looks entities up by id. */
export function labEntityMap(world: LabWorld): Map<string, LabEntity> {
  return new Map(world.entities.map((e) => [e.id, e]));
}

/** The corpus: one page per entity, `{id, contents: "name\ntext"}`. */
export function labCorpus(world: LabWorld): { id: string; contents: string }[] {
  const byId = labEntityMap(world);
  return world.entities.map((e) => ({ id: e.id, contents: labPageContents(e.kind, e.name, e.link === null ? null : byId.get(e.link)!.name) }));
}

/** Follows `hops` links from `subject`; returns the chain of ids (subject first). */
export function followLinks(byId: Map<string, LabEntity>, subject: LabEntity, hops: number): string[] {
  const chain = [subject.id];
  let at = subject;
  for (let h = 0; h < hops; h++) {
    if (at.link === null) throw new RangeError(`entity ${at.id} has no link to follow (hop ${h})`);
    at = byId.get(at.link)!;
    chain.push(at.id);
  }
  return chain;
}

/** Every question of every template for each split, subjects in world order (distractors are never subjects). */
export function labQuestions(world: LabWorld): Record<LabSplit, LabQuestion[]> {
  const byId = labEntityMap(world);
  const out: Record<LabSplit, LabQuestion[]> = { train: [], dev: [], test: [] };
  for (const split of LAB_SPLITS) {
    for (const template of LAB_TEMPLATES) {
      for (const subject of world.entities) {
        if (subject.split !== split || subject.kind !== template.subject || subject.distractor) continue;
        const chain = followLinks(byId, subject, template.hops);
        out[split].push({
          id: `${split}:${template.id}:${subject.name}`,
          question: template.text(subject.name),
          golds: [byId.get(chain[chain.length - 1]!)!.name],
          data_source: template.id,
          hops: template.hops,
          split,
          chain,
        });
      }
    }
  }
  return out;
}
