// Questions about a synthetic world: one-hop questions (one fact on one page) and two-hop questions (a chain of
// two facts on two different pages), each with its gold answers and the pages that hold its facts, split into
// train and dev deterministically. Writing them to files is world-files.ts's job.
import { keyedRandom } from '../util/random.js';
import type { RolloutQuestion } from '../rollout/rollout-types.js';
import { normalizeAnswer } from '../reward/qa-em.js';
import { expectArray, expectInteger, expectNumber, expectObject } from '../validate.js';
import { worldCorpus } from './world-corpus.js';
import { pick, shuffled } from './world-names.js';
import { RELATION_SUBJECT, WorldLookup, type EntityRef, type Relation, type Target } from './world-relations.js';
import type { EntityKind, World } from './world-types.js';

/** The question types: one relation, or two chained (`first>second`: the second applies to the first's answer). */
export const QUESTION_TYPES = [
  'birthplace', 'profession', 'spouse', 'creator', 'year', 'country', 'river', 'capital', 'language',
  'birthplace>country', 'birthplace>river', 'creator>birthplace', 'spouse>birthplace', 'country>language',
  'capital>river',
] as const;

export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface WorldQuestion extends RolloutQuestion {
  /** `<subject id>:<relations joined by '-'>`, e.g. "person-003:birthplace-country"; unique in a world. */
  id: string;
  question: string;
  /** The answer's name first, then aliases. */
  golds: string[];
  hops: 1 | 2;
  type: QuestionType;
  /** The entity the question names. */
  subject: EntityRef;
  /** The relations to follow from the subject, in order. */
  chain: Relation[];
  /**
   * The main corpus page (document id) stating each hop's fact, in hop order (WorldLookup.pagesStating lists
   * every page that states it); a two-hop question's pages are different.
   */
  evidence: string[];
}

export interface WorldQuestionOptions {
  /** Seeds the wording, the split and the order (default: the world's seed). */
  seed?: number;
  /** Relative sizes of the train and dev splits, stratified by question type. Default {train: 0.8, dev: 0.2}. */
  splits?: { train: number; dev: number };
  /** Question types to ask (default all of QUESTION_TYPES). */
  types?: readonly QuestionType[];
}

export interface WorldQuestionSplits {
  train: WorldQuestion[];
  dev: WorldQuestion[];
}

type Wording = (name: string, lookup: WorldLookup, subject: EntityRef) => string[];

const WORDINGS: Record<QuestionType, Wording> = {
  birthplace: (p) => [`Where was ${p} born?`, `In which city was ${p} born?`],
  profession: (p) => [`What was the profession of ${p}?`, `What did ${p} work as?`],
  spouse: (p) => [`Who was ${p} married to?`, `Who was the spouse of ${p}?`],
  creator: (w, lookup, s) => [`Who ${lookup.workWords(s.id).verb} ${w}?`],
  year: (w, lookup, s) => [`In which year was ${w} ${lookup.workWords(s.id).participle}?`],
  country: (c) => [`In which country is ${c}?`, `Which country is ${c} in?`],
  river: (c) => [`Which river flows through ${c}?`, `On which river is ${c}?`],
  capital: (k) => [`What is the capital of ${k}?`, `Which city is the capital of ${k}?`],
  language: (k) => [`What language is spoken in ${k}?`, `What language do the people of ${k} speak?`],
  'birthplace>country': (p) => [`In which country was ${p} born?`],
  'birthplace>river': (p) => [`Which river flows through the city where ${p} was born?`],
  'creator>birthplace': (w, lookup, s) => [`Where was the ${lookup.workWords(s.id).role} of ${w} born?`],
  'spouse>birthplace': (p) => [`Where was the spouse of ${p} born?`],
  'country>language': (c) => [`What language is spoken in the country where ${c} is?`, `What language do the people of ${c} speak?`],
  'capital>river': (k) => [`Which river flows through the capital of ${k}?`],
};

const KIND_LISTS: Record<EntityKind, keyof World> = {
  person: 'people', city: 'cities', country: 'countries', river: 'rivers', language: 'languages', work: 'works',
};

/** True when the normalised `page` contains the normalised `answer` as whole words. */
function mentions(page: string, answer: string): boolean {
  return ` ${normalizeAnswer(page)} `.includes(` ${normalizeAnswer(answer)} `);
}

/**
 * Every question of the given types that the world supports, split into train and dev. A two-hop question is
 * kept only when no page states both of its facts and no page stating the first fact names the answer (else one
 * search could do);
 * chains that lead nowhere (an unmarried person's spouse) are skipped. Each split is stratified by type: of a
 * type's n questions, round(n · dev / (train + dev)) go to dev, chosen by the seed. Each split is then shuffled.
 */
export function worldQuestions(world: World, options: WorldQuestionOptions = {}): WorldQuestionSplits {
  expectObject(options, 'options');
  const lookup = new WorldLookup(world);
  const seed = expectInteger(options.seed ?? world.seed, 'options.seed', { min: 0, max: 2 ** 32 - 1 });
  const splits = options.splits ?? { train: 0.8, dev: 0.2 };
  expectObject(splits, 'options.splits');
  const trainShare = expectNumber(splits.train, 'options.splits.train', { min: 0 });
  const devShare = expectNumber(splits.dev, 'options.splits.dev', { min: 0 });
  if (trainShare + devShare <= 0) throw new RangeError('options.splits.train + options.splits.dev must be > 0');
  const types = options.types === undefined ? QUESTION_TYPES : expectArray(options.types, 'options.types') as QuestionType[];
  types.forEach((type, i) => {
    if (!(QUESTION_TYPES as readonly string[]).includes(type)) throw new RangeError(`options.types[${i}] is not a question type: ${JSON.stringify(type)}`);
  });

  const pages = new Map(worldCorpus(world).map((row) => [row.id, row.contents]));
  const train: WorldQuestion[] = [];
  const dev: WorldQuestion[] = [];
  for (const type of types) {
    const chain = type.split('>') as Relation[];
    const subjectKind = RELATION_SUBJECT[chain[0]!];
    const questions: WorldQuestion[] = [];
    for (const entity of world[KIND_LISTS[subjectKind]] as { id: string }[]) {
      const subject: EntityRef = { kind: subjectKind, id: entity.id };
      const stating: string[][] = [];
      let at: Target | null = subject;
      for (const relation of chain) {
        if (at === null || at.kind === 'value') break;
        const object: Target | null = lookup.follow(relation, at);
        if (object !== null) stating.push(lookup.pagesStating(relation, at, object));
        at = object;
      }
      if (at === null || stating.length !== chain.length) continue;
      const golds = lookup.aliases(at);
      // Two hops must need two pages: no page states both facts, and no first-fact page names the answer.
      if (chain.length === 2) {
        if (stating[0]!.some((page) => stating[1]!.includes(page))) continue;
        if (stating[0]!.some((page) => golds.some((gold) => mentions(pages.get(page)!, gold)))) continue;
      }
      const id = `${subject.id}:${chain.join('-')}`;
      const question = pick(keyedRandom(seed, `wording:${id}`), WORDINGS[type](lookup.name(subject), lookup, subject));
      const evidence = stating.map((pagesOfHop) => pagesOfHop[0]!);
      questions.push({ id, question, golds, hops: chain.length as 1 | 2, type, subject, chain, evidence });
    }
    const order = shuffled(keyedRandom(seed, `split:${type}`), questions);
    const devCount = Math.round((order.length * devShare) / (trainShare + devShare));
    dev.push(...order.slice(0, devCount));
    train.push(...order.slice(devCount));
  }
  return { train: shuffled(keyedRandom(seed, 'order:train'), train), dev: shuffled(keyedRandom(seed, 'order:dev'), dev) };
}
