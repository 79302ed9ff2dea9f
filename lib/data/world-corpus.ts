// The synthetic world's corpus: one short page per entity, in Search-R1's row layout ({id, contents:
// "\"Title\"\ntext"}). Each page states only its own entity's facts, so a chain of two facts sits on two pages.
// Indexing the rows is left to lib/retrieval.
import { keyedRandom } from '../util/random.js';
import { contentsFromTitleText } from '../retrieval/corpus.js';
import type { CorpusDocument } from '../retrieval/types.js';
import { WorldLookup } from './world-relations.js';
import { article, listText, type World } from './world-types.js';

/**
 * The pages of `world`, in a fixed order (countries, cities, rivers, languages, people, works); the id of each
 * page is its entity's id. What each page says:
 * - country: its capital and its language;
 * - city: its country and its river (not that it is a capital: only the country's page says so);
 * - river: the cities it flows through;
 * - language: the countries that speak it;
 * - person: profession and birth city, and the marriage when the spouse's id is larger (each marriage is stated
 *   once); never the work, nor the country or river of the birth city;
 * - work: its kind, maker and year (never the maker's city).
 * So the two facts of every two-hop chain the questions use sit on different pages (WorldLookup.pagesStating
 * lists where each fact is). The wording varies a little per page, chosen by the world's seed.
 */
export function worldCorpus(world: World): CorpusDocument[] {
  const lookup = new WorldLookup(world);
  const variant = (id: string, count: number) => Math.floor(keyedRandom(world.seed, `page:${id}`)() * count);
  const rows: CorpusDocument[] = [];
  const add = (id: string, title: string, text: string) => rows.push({ id, contents: contentsFromTitleText(title, text) });

  for (const country of world.countries) {
    const capital = lookup.get('city', country.capital).name;
    const language = lookup.get('language', country.language).name;
    add(country.id, country.name, variant(country.id, 2) === 0
      ? `${country.name} is a country. Its capital is ${capital}, and its people speak ${language}.`
      : `${country.name} is a country whose capital is ${capital}. The people of ${country.name} speak ${language}.`);
  }
  for (const city of world.cities) {
    const country = lookup.get('country', city.country).name;
    const river = lookup.get('river', city.river).name;
    add(city.id, city.name, variant(city.id, 2) === 0
      ? `${city.name} is a city in ${country} on the ${river}.`
      : `${city.name} is a city in ${country}. The ${river} flows through ${city.name}.`);
  }
  for (const river of world.rivers) {
    const cities = world.cities.filter((city) => city.river === river.id).map((city) => city.name);
    add(river.id, river.name, `The ${river.name} flows through ${listText(cities)}.`);
  }
  for (const language of world.languages) {
    const countries = world.countries.filter((country) => country.language === language.id).map((country) => country.name);
    add(language.id, language.name, `${language.name} is the language of ${listText(countries)}.`);
  }
  for (const person of world.people) {
    const city = lookup.get('city', person.birthCity).name;
    const role = `${article(person.profession)} ${person.profession}`;
    let text = variant(person.id, 2) === 0
      ? `${person.name} was ${role} born in ${city}.`
      : `Born in ${city}, ${person.name} was ${role}.`;
    if (person.spouse !== null && person.id < person.spouse) {
      text += ` ${person.surname} was married to ${lookup.get('person', person.spouse).name}.`;
    }
    add(person.id, person.name, text);
  }
  for (const work of world.works) {
    const creator = lookup.get('person', work.creator).name;
    // "a painting by X", not "a painting painted by X".
    const participle = work.kind === 'painting' ? '' : `${lookup.workWords(work.id).participle} `;
    const kind = `${article(work.kind)} ${work.kind}`;
    add(work.id, work.title, variant(work.id, 2) === 0
      ? `${work.title} is ${kind} ${participle}by ${creator} in ${work.year}.`
      : `${work.title} is ${kind} from ${work.year}. It was ${lookup.workWords(work.id).participle} by ${creator}.`);
  }
  return rows;
}
