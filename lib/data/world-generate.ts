// Generates a deterministic world of invented entities: countries with a capital and a language, cities on
// rivers, people born in cities who made one work each and are sometimes married. Writing its pages and its
// questions is left to world-corpus.ts and world-questions.ts.
import { keyedRandom, randomInt, type RandomSource } from '../util/random.js';
import { expectInteger, expectNumber, expectObject } from '../validate.js';
import { NameGenerator, pick, shuffled } from './world-names.js';
import {
  PROFESSIONS, type City, type Country, type Language, type Person, type Profession, type River, type Work,
  type WorkKind, type World,
} from './world-types.js';

export interface WorldOptions {
  /** Seeds every choice (an integer in [0, 2^32)). Same seed and sizes: the same world. */
  seed: number;
  /** Default 60. */
  people?: number;
  /** Default 25; at least `countries` and at least `rivers`. */
  cities?: number;
  /** Default 10; at least `languages`. */
  countries?: number;
  /** Default 8. */
  rivers?: number;
  /** Default 6. */
  languages?: number;
  /** Share of people who are married (paired with each other). Default 0.5. */
  marriedFraction?: number;
}

const ADJECTIVES = [
  'Silent', 'Golden', 'Hidden', 'Quiet', 'Broken', 'Crimson', 'Distant', 'Frozen', 'Hollow', 'Gentle', 'Bright',
  'Lonely', 'Ancient', 'Wandering', 'Sleeping', 'Scarlet', 'Patient', 'Burning', 'Last', 'Velvet',
];
const NOUNS = [
  'Harbor', 'Orchard', 'Lantern', 'Garden', 'Mirror', 'Meadow', 'Window', 'Tide', 'Valley', 'Feather', 'Bell',
  'Fountain', 'Compass', 'Storm', 'Candle', 'Shadow', 'Island', 'Letter', 'Clock', 'Road',
];

function ids(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
}

/** A title for a work of `kind`, unique among `titles` (which it joins). */
function workTitle(kind: WorkKind, random: RandomSource, names: NameGenerator, titles: Set<string>): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    let title: string;
    if (kind === 'painting' || kind === 'novel') title = `The ${pick(random, ADJECTIVES)} ${pick(random, NOUNS)}`;
    else if (kind === 'poem') title = `Ode to ${names.word(2, 2)}`;
    else if (kind === 'symphony') title = `${names.word(2, 2)} Symphony`;
    else title = `${names.word(2, 2)} ${kind.split(' ').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ')}`;
    if (!titles.has(title)) {
      titles.add(title);
      return title;
    }
  }
  throw new RangeError('ran out of work titles; ask for fewer people');
}

/**
 * Generates a world. Every entity has a unique invented name (and people unique given names and surnames);
 * every country has at least one city and its capital is one of them; every language is spoken in some
 * country and every river flows through some city; marriages pair distinct people symmetrically.
 */
export function generateWorld(options: WorldOptions): World {
  expectObject(options, 'options');
  const seed = expectInteger(options.seed, 'options.seed', { min: 0, max: 2 ** 32 - 1 });
  const peopleCount = expectInteger(options.people ?? 60, 'options.people', { min: 2, max: 2000 });
  const countryCount = expectInteger(options.countries ?? 10, 'options.countries', { min: 1, max: 500 });
  const riverCount = expectInteger(options.rivers ?? 8, 'options.rivers', { min: 1, max: 500 });
  const languageCount = expectInteger(options.languages ?? 6, 'options.languages', { min: 1, max: countryCount });
  const cityCount = expectInteger(options.cities ?? 25, 'options.cities', { min: Math.max(countryCount, riverCount), max: 2000 });
  const marriedFraction = expectNumber(options.marriedFraction ?? 0.5, 'options.marriedFraction', { min: 0, max: 1 });

  const names = new NameGenerator(keyedRandom(seed, 'names'));
  const random = (key: string) => keyedRandom(seed, key);

  const languages: Language[] = ids('language', languageCount).map((id) => {
    const suffix = pick(random(`suffix:${id}`), ['ic', 'ish', 'ese']);
    return { id, name: names.word(1, 2, suffix) };
  });
  const rivers: River[] = ids('river', riverCount).map((id) => {
    const shortName = names.word(2, 2);
    return { id, name: `${shortName} River`, shortName };
  });
  const countryIds = ids('country', countryCount);
  const cityIds = ids('city', cityCount);

  // Cities: the first of each country first (so none is empty), the rest anywhere; rivers likewise.
  const placement = random('cities');
  const cityCountry = cityIds.map((_, i) => (i < countryCount ? countryIds[i]! : pick(placement, countryIds)));
  const riverOrder = shuffled(random('rivers'), cityIds.map((_, i) => (i < riverCount ? rivers[i]!.id : pick(placement, rivers).id)));
  const cities: City[] = cityIds.map((id, i) => ({ id, name: names.word(2, 3), country: cityCountry[i]!, river: riverOrder[i]! }));

  const languageOrder = shuffled(random('languages'), countryIds.map((_, i) => (i < languageCount ? languages[i]!.id : pick(random('language-pick'), languages).id)));
  const countries: Country[] = countryIds.map((id, i) => {
    const own = cities.filter((city) => city.country === id);
    const suffix = pick(random(`suffix:${id}`), ['ia', 'or', 'and', 'ea', 'eth']);
    return { id, name: names.word(2, 2, suffix), capital: pick(random(`capital:${id}`), own).id, language: languageOrder[i]! };
  });

  const professions = Object.keys(PROFESSIONS) as Profession[];
  const titles = new Set<string>();
  const people: Person[] = [];
  const works: Work[] = [];
  const lives = random('people');
  ids('person', peopleCount).forEach((id, i) => {
    const given = names.word(2, 2);
    const surname = names.word(2, 3);
    const profession = pick(lives, professions);
    const workId = `work-${String(i).padStart(3, '0')}`;
    const kind = PROFESSIONS[profession].work;
    works.push({ id: workId, title: workTitle(kind, random(`title:${workId}`), names, titles), kind, creator: id, year: randomInt(lives, 1520, 1950) });
    people.push({ id, name: `${given} ${surname}`, given, surname, profession, birthCity: pick(lives, cities).id, spouse: null, work: workId });
  });

  const couples = Math.floor((marriedFraction * peopleCount) / 2);
  const order = shuffled(random('marriages'), people);
  for (let c = 0; c < couples; c++) {
    const [a, b] = [order[2 * c]!, order[2 * c + 1]!];
    a.spouse = b.id;
    b.spouse = a.id;
  }

  return { format: 'rexrag-world/1', seed, people, cities, countries, rivers, languages, works };
}
