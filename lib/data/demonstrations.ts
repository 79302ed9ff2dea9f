// Supervised demonstration trajectories for world questions in the Search-R1 protocol: reasoning and searches
// written from the world's facts, with the real observations a retriever returns for those searches, and the
// conversion of a demonstration into token ids and an SFT loss mask. The SFT step itself is the trainer's job.
import { keyedRandom, randomInt, type RandomSource } from '../util/random.js';
import { RexragError } from '../errors.js';
import { COMPONENT, lossMaskFromComponents } from '../algo/components.js';
import { informationObservation } from '../rollout/observation.js';
import { buildPromptMessages } from '../rollout/search-r1-prompt.js';
import type { Retriever, SearchHit } from '../retrieval/types.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { expectArray, expectInteger, expectNumber, expectObject, expectString } from '../validate.js';
import { pick } from './world-names.js';
import type { WorldQuestion } from './world-questions.js';
import { WorldLookup, type EntityRef, type Relation, type Target } from './world-relations.js';
import { PROFESSIONS, type Profession, type World } from './world-types.js';

/**
 * How a demonstration goes. 'direct': one precise search per hop. The imperfect ones still end with the right
 * answer: 'no-search' answers a one-hop question from memory; 'wrong-guess' states a wrong guess, searches and
 * corrects it; 'vague-search' first searches without the subject's name, sees unrelated results and searches again.
 */
export type DemonstrationStyle = 'direct' | 'no-search' | 'wrong-guess' | 'vague-search';
export type ImperfectStyle = Exclude<DemonstrationStyle, 'direct'>;

export interface DemonstrationSegment {
  /** 'model': text the policy writes (trained on); 'information': a retrieval observation (not trained on). */
  kind: 'model' | 'information';
  text: string;
}

export interface DemonstrationSearch {
  query: string;
  /** Index of the hop this search serves (0-based). */
  hop: number;
  /** The ids of the documents it returned, best first. */
  documentIds: string[];
  /** Whether a page stating the hop's fact is among them. */
  foundEvidence: boolean;
}

export interface Demonstration {
  questionId: string;
  question: string;
  golds: string[];
  hops: 1 | 2;
  style: DemonstrationStyle;
  /** In order; model and information segments alternate, the last one is the model's answer turn. */
  segments: DemonstrationSegment[];
  searches: DemonstrationSearch[];
  /** The content of the answer block (the first gold). */
  answer: string;
  /** True when every hop's fact was on a page some search returned ('no-search' is never grounded). */
  grounded: boolean;
}

export interface DemonstrationOptions {
  /** Seeds the choice of style and of wrong guesses. Default 0. */
  seed?: number;
  /** Documents per search, as in rollouts. Default 3. */
  topk?: number;
  /** Chance that a question gets an imperfect style (uniform among those allowed). Default 0.25. */
  imperfectRate?: number;
  /** The imperfect styles allowed. Default all three ('no-search' applies to one-hop questions only). */
  imperfectStyles?: readonly ImperfectStyle[];
}

const IMPERFECT_STYLES: readonly ImperfectStyle[] = ['no-search', 'wrong-guess', 'vague-search'];

/** Plain-English phrasing of each relation for the agent's reasoning and its search queries. */
interface RelationWords {
  /** What the agent needs, e.g. "where Tavo Lerin was born". */
  need(subject: string, lookup: WorldLookup, ref: EntityRef | null): string;
  /** The precise search query. */
  query(subject: string, lookup: WorldLookup, ref: EntityRef): string;
  /** A query without the subject's name. */
  vague: string;
}

const makingWords = (lookup: WorldLookup, ref: EntityRef | null) =>
  ref === null ? { verb: 'made', participle: 'made' } : lookup.workWords(ref.id);

const RELATION_WORDS: Record<Relation, RelationWords> = {
  birthplace: { need: (s) => `where ${s} was born`, query: (s) => `where was ${s} born`, vague: 'where was the person born' },
  profession: { need: (s) => `the profession of ${s}`, query: (s) => `${s} profession`, vague: 'what was the profession' },
  spouse: { need: (s) => `who ${s} was married to`, query: (s) => `${s} married to`, vague: 'who was married to whom' },
  creator: {
    need: (s, l, r) => `who ${makingWords(l, r).verb} ${s}`,
    query: (s, l, r) => `who ${makingWords(l, r).verb} ${s}`,
    vague: 'who made the work',
  },
  year: {
    need: (s, l, r) => `when ${s} was ${makingWords(l, r).participle}`,
    query: (s, l, r) => `when was ${s} ${makingWords(l, r).participle}`,
    vague: 'in which year was it made',
  },
  country: { need: (s) => `the country of ${s}`, query: (s) => `${s} country`, vague: 'which country is the city in' },
  river: { need: (s) => `the river that flows through ${s}`, query: (s) => `river of ${s}`, vague: 'which river flows through the city' },
  capital: { need: (s) => `the capital of ${s}`, query: (s) => `capital of ${s}`, vague: 'what is the capital city' },
  language: { need: (s) => `the language of ${s}`, query: (s) => `what language do people speak in ${s}`, vague: 'which language do people speak' },
};

function capitalise(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}

function turn(think: string, action: 'search' | 'answer', content: string): DemonstrationSegment {
  return { kind: 'model', text: `<think> ${think} </think>\n<${action}> ${content} </${action}>` };
}

/** One step of a question's chain, resolved in the world. */
interface Hop {
  relation: Relation;
  subject: EntityRef;
  object: Target;
  /** The pages that state this fact (WorldLookup.pagesStating). */
  pages: string[];
  fact: string;
}

function resolveHops(lookup: WorldLookup, question: WorldQuestion): Hop[] {
  const hops: Hop[] = [];
  let at: Target = question.subject;
  question.chain.forEach((relation, i) => {
    if (at.kind === 'value') throw new RangeError(`question ${question.id}: hop ${i} starts from a value`);
    const subject: EntityRef = at;
    const object = lookup.follow(relation, subject);
    if (object === null) throw new RangeError(`question ${question.id}: ${relation} of ${subject.id} leads nowhere`);
    hops.push({ relation, subject, object, pages: lookup.pagesStating(relation, subject, object), fact: lookup.fact(relation, subject, object) });
    at = object;
  });
  return hops;
}

/** A plausible wrong answer of the same kind as `target`, for 'wrong-guess' demonstrations. */
function wrongGuess(lookup: WorldLookup, target: Target, random: RandomSource): string {
  if (target.kind === 'value') {
    if (/^\d+$/.test(target.value)) {
      const year = Number(target.value);
      return String(year + (randomInt(random, 0, 1) === 0 ? -1 : 1) * randomInt(random, 3, 40));
    }
    return pick(random, (Object.keys(PROFESSIONS) as Profession[]).filter((p) => p !== target.value));
  }
  const list = {
    person: lookup.world.people, city: lookup.world.cities, country: lookup.world.countries,
    river: lookup.world.rivers, language: lookup.world.languages, work: lookup.world.works,
  }[target.kind] as { id: string }[];
  const others = list.filter((entity) => entity.id !== target.id);
  if (others.length === 0) return 'something else';
  return lookup.name({ kind: target.kind, id: pick(random, others).id });
}

interface Plan {
  question: WorldQuestion;
  hops: Hop[];
  style: DemonstrationStyle;
  guess: string | null;
}

/**
 * Writes one demonstration per question. The searches are really run (in two batched calls: the planned queries,
 * then, for hops none of whose pages came back, the hop subject's bare name) and their observations are exactly
 * `informationObservation(hits)`, so a demonstration shows what a rollout would see. A hop whose fact is still
 * missing after the retry is answered from the world's facts and the demonstration is marked not grounded.
 */
export async function buildDemonstrations(
  world: World,
  questions: readonly WorldQuestion[],
  retriever: Retriever,
  options: DemonstrationOptions = {},
): Promise<Demonstration[]> {
  const lookup = new WorldLookup(world);
  expectArray(questions, 'questions');
  if (retriever === null || typeof retriever !== 'object' || typeof retriever.search !== 'function') {
    throw new TypeError('retriever must be a Retriever (an object with a search(queries, topk) method)');
  }
  expectObject(options, 'options');
  const seed = expectInteger(options.seed ?? 0, 'options.seed', { min: 0, max: 2 ** 32 - 1 });
  const topk = expectInteger(options.topk ?? 3, 'options.topk', { min: 1 });
  const imperfectRate = expectNumber(options.imperfectRate ?? 0.25, 'options.imperfectRate', { min: 0, max: 1 });
  const allowed = options.imperfectStyles === undefined ? IMPERFECT_STYLES : expectArray(options.imperfectStyles, 'options.imperfectStyles') as ImperfectStyle[];
  allowed.forEach((style, i) => {
    if (!IMPERFECT_STYLES.includes(style)) throw new RangeError(`options.imperfectStyles[${i}] must be one of ${IMPERFECT_STYLES.join(', ')}, got ${JSON.stringify(style)}`);
  });

  const plans: Plan[] = questions.map((question, i) => {
    expectObject(question, `questions[${i}]`);
    expectString(question.id, `questions[${i}].id`);
    expectObject(question.subject, `questions[${i}].subject`);
    expectArray(question.chain, `questions[${i}].chain`);
    if (expectArray(question.golds, `questions[${i}].golds`).length === 0) throw new RangeError(`questions[${i}].golds must not be empty`);
    const hops = resolveHops(lookup, question);
    const random = keyedRandom(seed, `demonstration:${question.id}`);
    const styles = allowed.filter((style) => style !== 'no-search' || hops.length === 1);
    const imperfect = styles.length > 0 && random() < imperfectRate;
    const style: DemonstrationStyle = imperfect ? pick(random, styles) : 'direct';
    const guess = style === 'wrong-guess' ? wrongGuess(lookup, hops[hops.length - 1]!.object, random) : null;
    return { question, hops, style, guess };
  });

  // Round 1: every planned query (a vague one first for 'vague-search'); round 2: the bare name of the subject of
  // each hop that no search has served yet.
  const planned = plans.map((plan) => {
    if (plan.style === 'no-search') return [];
    const queries = plan.hops.map((hop, h) => ({ hop: h, query: precise(lookup, hop) }));
    return plan.style === 'vague-search' ? [{ hop: 0, query: RELATION_WORDS[plan.hops[0]!.relation].vague }, ...queries] : queries;
  });
  const first = await searchAll(retriever, planned.flat().map((q) => q.query), topk);
  let cursor = 0;
  const results = planned.map((queries, p) => queries.map(({ hop, query }) => {
    const hits = first[cursor++]!;
    return { hop, query, hits, found: hits.some((hit) => plans[p]!.hops[hop]!.pages.includes(hit.document.id)) };
  }));
  // A vague search that happens to find the page serves the hop: the precise one is then not made.
  results.forEach((list, p) => {
    if (plans[p]!.style === 'vague-search' && list[0]!.found) list.splice(1, 1);
  });
  const retries = results.map((list, p) => plans[p]!.hops
    .map((hop, h) => ({ hop: h, query: lookup.name(hop.subject) }))
    .filter(({ hop }) => plans[p]!.style !== 'no-search' && !list.some((r) => r.hop === hop && r.found)));
  const second = await searchAll(retriever, retries.flat().map((q) => q.query), topk);
  cursor = 0;
  retries.forEach((list, p) => {
    for (const { hop, query } of list) {
      const hits = second[cursor++]!;
      results[p]!.push({ hop, query, hits, found: hits.some((hit) => plans[p]!.hops[hop]!.pages.includes(hit.document.id)) });
    }
    results[p]!.sort((a, b) => a.hop - b.hop);
  });

  return plans.map((plan, p) => writeDemonstration(lookup, plan, results[p]!));
}

function precise(lookup: WorldLookup, hop: Hop): string {
  return RELATION_WORDS[hop.relation].query(lookup.name(hop.subject), lookup, hop.subject);
}

async function searchAll(retriever: Retriever, queries: string[], topk: number): Promise<SearchHit[][]> {
  if (queries.length === 0) return [];
  const hits = await retriever.search(queries, topk);
  if (!Array.isArray(hits) || hits.length !== queries.length) {
    throw new RexragError(`the retriever returned ${Array.isArray(hits) ? hits.length : 'no'} result lists for ${queries.length} queries`, 'ERR_RETRIEVER');
  }
  return hits;
}

interface SearchResult {
  hop: number;
  query: string;
  hits: SearchHit[];
  found: boolean;
}

/** Lays out the turns of one demonstration from its plan and the searches made for it (in hop order). */
function writeDemonstration(lookup: WorldLookup, plan: Plan, searches: SearchResult[]): Demonstration {
  const { question, hops, style, guess } = plan;
  const answer = question.golds[0]!;
  const segments: DemonstrationSegment[] = [];
  const subjectName = lookup.name(hops[0]!.subject);
  let think = `I need to find ${RELATION_WORDS[hops[0]!.relation].need(subjectName, lookup, hops[0]!.subject)}`;
  if (hops.length > 1) {
    const that = `that ${hops[1]!.subject.kind}`;
    think += `, and then ${RELATION_WORDS[hops[1]!.relation].need(that, lookup, null)}`;
  }
  think += '.';
  if (guess !== null) think += ` I guess the answer is ${guess}, but I should check.`;

  if (style === 'no-search') {
    segments.push(turn(`I know that ${hops[0]!.fact}.`, 'answer', answer));
  } else {
    let pending = think;
    let grounded = true;
    searches.forEach((search, s) => {
      segments.push(turn(pending, 'search', search.query));
      segments.push({ kind: 'information', text: informationObservation(search.hits) });
      const hop = hops[search.hop]!;
      const next = searches[s + 1];
      const hopName = lookup.name(hop.subject);
      if (next !== undefined && next.hop === search.hop) {
        // This search did not serve its hop; the next one retries it.
        pending = `The results do not say ${RELATION_WORDS[hop.relation].need(hopName, lookup, hop.subject)}. I will search for ${hopName} directly.`;
        if (s === 0 && style === 'vague-search') pending = `These results are not about ${hopName}. I should put the name in the query.`;
        return;
      }
      const fact = `${capitalise(hop.fact)}.`;
      const known = search.found ? fact : `The results do not say it, but I recall that ${hop.fact}.`;
      if (!search.found) grounded = false;
      if (next !== undefined) {
        const nextHop = hops[next.hop]!;
        pending = `${known} Now I need to find ${RELATION_WORDS[nextHop.relation].need(lookup.name(nextHop.subject), lookup, nextHop.subject)}.`;
      } else {
        pending = guess === null ? known : `${known} So the answer is ${answer}, not ${guess}.`;
      }
    });
    segments.push(turn(pending, 'answer', answer));
    return finish(question, style, segments, searches, answer, grounded);
  }
  return finish(question, style, segments, searches, answer, false);
}

function finish(
  question: WorldQuestion, style: DemonstrationStyle, segments: DemonstrationSegment[], searches: SearchResult[],
  answer: string, grounded: boolean,
): Demonstration {
  return {
    questionId: question.id,
    question: question.question,
    golds: [...question.golds],
    hops: question.hops,
    style,
    segments,
    searches: searches.map(({ hop, query, hits, found }) => ({
      query, hop, documentIds: hits.map((hit) => hit.document.id), foundEvidence: found,
    })),
    answer,
    grounded,
  };
}

/** The response text of a demonstration: its segments joined (what a rollout's responseText would be). */
export function demonstrationText(demonstration: Demonstration): string {
  expectObject(demonstration, 'demonstration');
  return expectArray(demonstration.segments, 'demonstration.segments').map((segment) => (segment as DemonstrationSegment).text).join('');
}

export interface DemonstrationSequence {
  /** Prompt tokens then response tokens. */
  tokens: number[];
  /** Component code per token (COMPONENT: prompt 0, model 1, information 4). */
  components: number[];
  /** 1 on model tokens (the final EOS included), 0 on prompt and information tokens. */
  lossMask: number[];
  /** Number of prompt tokens at the start of `tokens`. */
  promptLength: number;
}

/**
 * Tokenises a demonstration for supervised training as a rollout would hold it: the prompt is
 * `applyChatTemplate(buildPromptMessages(question), {addGenerationPrompt: true})`, then every segment is encoded
 * on its own and the ids are concatenated (never re-tokenised across a segment boundary), then one EOS token
 * (`eosText`, default `<|im_end|>`, which must encode to exactly one id) closes the response. The loss mask is
 * lossMaskFromComponents: model text and the EOS are trained on, prompt and information are not.
 */
export function demonstrationSequence(
  demonstration: Demonstration,
  tokenizer: TextTokenizer,
  options: { eosText?: string } = {},
): DemonstrationSequence {
  expectObject(demonstration, 'demonstration');
  expectString(demonstration.question, 'demonstration.question');
  const segments = expectArray(demonstration.segments, 'demonstration.segments') as DemonstrationSegment[];
  if (tokenizer === null || typeof tokenizer !== 'object' || typeof tokenizer.encode !== 'function') {
    throw new TypeError('tokenizer must be a TextTokenizer');
  }
  expectObject(options, 'options');
  const eosText = expectString(options.eosText ?? '<|im_end|>', 'options.eosText', { nonEmpty: true });
  const eos = tokenizer.encode(eosText);
  if (eos.length !== 1) throw new RangeError(`options.eosText ${JSON.stringify(eosText)} must encode to one token, got ${eos.length}`);

  const promptText = tokenizer.applyChatTemplate(buildPromptMessages(demonstration.question), { addGenerationPrompt: true });
  const tokens = tokenizer.encode(promptText);
  const promptLength = tokens.length;
  const components = new Array<number>(promptLength).fill(COMPONENT.prompt);
  segments.forEach((segment, i) => {
    expectObject(segment, `demonstration.segments[${i}]`);
    const text = expectString(segment.text, `demonstration.segments[${i}].text`);
    if (segment.kind !== 'model' && segment.kind !== 'information') {
      throw new RangeError(`demonstration.segments[${i}].kind must be "model" or "information", got ${JSON.stringify(segment.kind)}`);
    }
    const ids = tokenizer.encode(text);
    tokens.push(...ids);
    for (let k = 0; k < ids.length; k++) components.push(segment.kind === 'model' ? COMPONENT.model : COMPONENT.information);
  });
  tokens.push(eos[0]!);
  components.push(COMPONENT.model);
  return { tokens, components, lossMask: lossMaskFromComponents(components), promptLength };
}
