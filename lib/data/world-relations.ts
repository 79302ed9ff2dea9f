// The relations of the synthetic world as functions over its entities: which entity (or value) a relation leads
// to, on which corpus page that fact is stated, the entity's answer aliases, and the fact as a plain sentence.
// Question wording is left to world-questions.ts, search wording to demonstrations.ts.
import { expectObject } from '../validate.js';
import {
  article, PROFESSIONS, type City, type Country, type EntityKind, type Language, type Person, type River, type Work, type World,
} from './world-types.js';

/** One fact type. The subject kind of each is in RELATION_SUBJECT. */
export type Relation =
  | 'birthplace' // person -> city
  | 'profession' // person -> value
  | 'spouse' // person -> person
  | 'creator' // work -> person
  | 'year' // work -> value
  | 'country' // city -> country
  | 'river' // city -> river
  | 'capital' // country -> city
  | 'language'; // country -> language

export const RELATION_SUBJECT: Readonly<Record<Relation, EntityKind>> = {
  birthplace: 'person',
  profession: 'person',
  spouse: 'person',
  creator: 'work',
  year: 'work',
  country: 'city',
  river: 'city',
  capital: 'country',
  language: 'country',
};

export interface EntityRef {
  kind: EntityKind;
  id: string;
}

/** Where a relation leads: an entity, or a plain value (a profession, a year). */
export type Target = EntityRef | { kind: 'value'; value: string };

type Entity = Person | City | Country | River | Language | Work;

/** Id lookups over a world, and the relations as functions. */
export class WorldLookup {
  private readonly byId = new Map<string, { kind: EntityKind; entity: Entity }>();

  constructor(readonly world: World) {
    expectObject(world, 'world');
    const groups: [EntityKind, Entity[]][] = [
      ['person', world.people], ['city', world.cities], ['country', world.countries],
      ['river', world.rivers], ['language', world.languages], ['work', world.works],
    ];
    for (const [kind, entities] of groups) {
      if (!Array.isArray(entities)) throw new TypeError(`world is missing its ${kind} list`);
      for (const entity of entities) this.byId.set(entity.id, { kind, entity });
    }
  }

  /** The entity with id `id`, checked to be of `kind`. */
  get<K extends EntityKind>(kind: K, id: string): { person: Person; city: City; country: Country; river: River; language: Language; work: Work }[K] {
    const found = this.byId.get(id);
    if (found === undefined || found.kind !== kind) throw new RangeError(`the world has no ${kind} with id ${JSON.stringify(id)}`);
    return found.entity as never;
  }

  /** The display name of an entity or value: a person's full name, a river's full name, a work's title. */
  name(target: Target): string {
    if (target.kind === 'value') return target.value;
    if (target.kind === 'work') return this.get('work', target.id).title;
    return (this.get(target.kind, target.id) as { name: string }).name;
  }

  /** Accepted answers for a target: its name first, then simple aliases (a river without "River"). */
  aliases(target: Target): string[] {
    if (target.kind === 'river') {
      const river = this.get('river', target.id);
      return [river.name, river.shortName];
    }
    return [this.name(target)];
  }

  /**
   * The corpus pages that state `relation(subject) = object`, the main one first (see worldCorpus for what each
   * page says): the subject's own page, plus the page of the other side where that page states it too (a river's
   * page lists its cities, a language's page its countries, a country's page its capital). A marriage is stated
   * only on the page of the partner with the smaller id.
   */
  pagesStating(relation: Relation, subject: EntityRef, object: Target): string[] {
    if (this.follow(relation, subject) === null) throw new RangeError(`${relation} of ${subject.id} leads nowhere`);
    switch (relation) {
      case 'spouse': {
        const other = (object as EntityRef).id;
        return [subject.id < other ? subject.id : other];
      }
      case 'country': {
        const country = this.get('country', (object as EntityRef).id);
        return country.capital === subject.id ? [subject.id, country.id] : [subject.id];
      }
      case 'river':
      case 'language':
        return [subject.id, (object as EntityRef).id];
      default:
        return [subject.id];
    }
  }

  /** Where `relation` leads from `subject`, or null when it leads nowhere (an unmarried person's spouse). */
  follow(relation: Relation, subject: EntityRef): Target | null {
    const expected = RELATION_SUBJECT[relation];
    if (expected === undefined) throw new RangeError(`unknown relation ${JSON.stringify(relation)}`);
    if (subject.kind !== expected) throw new RangeError(`relation ${relation} needs a ${expected}, got a ${subject.kind}`);
    switch (relation) {
      case 'birthplace': return { kind: 'city', id: this.get('person', subject.id).birthCity };
      case 'profession': return { kind: 'value', value: this.get('person', subject.id).profession };
      case 'spouse': {
        const spouse = this.get('person', subject.id).spouse;
        return spouse === null ? null : { kind: 'person', id: spouse };
      }
      case 'creator': return { kind: 'person', id: this.get('work', subject.id).creator };
      case 'year': return { kind: 'value', value: String(this.get('work', subject.id).year) };
      case 'country': return { kind: 'country', id: this.get('city', subject.id).country };
      case 'river': return { kind: 'river', id: this.get('city', subject.id).river };
      case 'capital': return { kind: 'city', id: this.get('country', subject.id).capital };
      case 'language': return { kind: 'language', id: this.get('country', subject.id).language };
    }
  }

  /** The words describing a work's making: verb ("painted"), participle ("written"), role ("author"). */
  workWords(workId: string): { verb: string; participle: string; role: string } {
    const work = this.get('work', workId);
    const profession = Object.values(PROFESSIONS).find((p) => p.work === work.kind);
    if (profession === undefined) throw new RangeError(`work ${workId} has an unknown kind ${JSON.stringify(work.kind)}`);
    return profession;
  }

  /** The fact `relation(subject) = object` as a plain clause, e.g. "Tavo Lerin was born in Tarsen". */
  fact(relation: Relation, subject: EntityRef, object: Target): string {
    const s = this.name(subject);
    const o = this.name(object);
    switch (relation) {
      case 'birthplace': return `${s} was born in ${o}`;
      case 'profession': return `${s} was ${article(o)} ${o}`;
      case 'spouse': return `${s} was married to ${o}`;
      case 'creator': return `${s} was ${this.workWords(subject.id).participle} by ${o}`;
      case 'year': return `${s} was ${this.workWords(subject.id).participle} in ${o}`;
      case 'country': return `${s} is in ${o}`;
      case 'river': return `the ${o} flows through ${s}`;
      case 'capital': return `the capital of ${s} is ${o}`;
      case 'language': return `the people of ${s} speak ${o}`;
    }
  }
}
