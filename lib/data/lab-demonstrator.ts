// The lab's imperfect demonstrator: search-and-answer trajectories in the compact protocol, most of them in
// throwaway mini-worlds of freshly invented names (it writes the pages it "retrieves"), the rest on train
// questions with the real retriever; per template it takes a shortcut (answers after too few hops) with a set
// probability. Training on them is `rexrag sft`'s job.
import { keyedRandom } from '../util/random.js';
import { RexragError } from '../errors.js';
import type { Retriever, SearchHit } from '../retrieval/types.js';
import { informationObservation } from '../rollout/observation.js';
import { expectInteger, expectNumber, expectObject } from '../validate.js';
import { LabNameGenerator } from './lab-names.js';
import { LAB_TEMPLATES, labGoldQuery, labPageContents, labTemplate, type LabKind, type LabTemplate } from './lab-templates.js';
import { labEntityMap, type LabQuestion, type LabWorld } from './lab-world.js';
import type { SftDemo, SftSegment } from './sft-demos.js';

export interface LabDemo extends SftDemo {
  golds: string[];
  data_source: string;
  hops: number;
  /** Searches made before answering (fewer than `hops` when the demonstrator took its shortcut). */
  searches: number;
  shortcut: boolean;
  /** True when written in a throwaway mini-world of fresh names. */
  fresh: boolean;
}

export interface LabDemonstratorOptions {
  seed: number;
  /** Demonstrations to write. */
  count: number;
  /** Share written in fresh mini-worlds (the rest use train questions and the retriever). Default 0.7. */
  freshFraction?: number;
  /** Per template id: the chance of answering after too few hops (uniform among 1..hops−1 searches). Default 0. */
  shortcut?: Record<string, number>;
  /** Documents per search, as in rollouts. Default 1. */
  topk?: number;
}

const NEXT_KIND: Partial<Record<LabKind, LabKind>> = { person: 'city', city: 'country', film: 'person', company: 'person' };

const search = (query: string): SftSegment => ({ kind: 'model', text: `<search> ${query} </search>` });
const answer = (name: string): SftSegment => ({ kind: 'model', text: `<answer> ${name} </answer>` });

interface Plan {
  template: LabTemplate;
  question: string;
  /** Names and kinds from the subject to the answer. */
  chain: { kind: LabKind; name: string }[];
  searches: number;
  fresh: boolean;
  /** Hits per planned search (filled for fresh plans right away, for real ones after retrieval). */
  hits: SearchHit[][];
}

/**
 * Writes `count` demonstrations. Real ones cycle through `trainQuestions` in a seeded order; fresh ones draw a
 * template uniformly and invent every name (never one of the world's). Shortcuts are drawn per demonstration with
 * the template's probability.
 */
export async function labDemonstrations(
  world: LabWorld, trainQuestions: readonly LabQuestion[], retriever: Retriever, options: LabDemonstratorOptions,
): Promise<LabDemo[]> {
  expectObject(options, 'options');
  const seed = expectInteger(options.seed, 'options.seed', { min: 0 });
  const count = expectInteger(options.count, 'options.count', { min: 1 });
  const freshFraction = expectNumber(options.freshFraction ?? 0.7, 'options.freshFraction', { min: 0, max: 1 });
  const topk = expectInteger(options.topk ?? 1, 'options.topk', { min: 1 });
  const shortcut = options.shortcut ?? {};
  for (const [id, p] of Object.entries(shortcut)) {
    labTemplate(id);
    expectNumber(p, `options.shortcut["${id}"]`, { min: 0, max: 1 });
  }
  if (freshFraction < 1 && trainQuestions.length === 0) throw new RangeError('trainQuestions must not be empty unless options.freshFraction is 1');
  const byId = labEntityMap(world);
  const random = keyedRandom(seed, 'lab-demonstrator');
  const worldNames = world.entities.map((e) => e.name);
  const nameRandom = keyedRandom(seed, 'lab-demonstrator-names');
  const order = trainQuestions.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let nextReal = 0;
  const plans: Plan[] = [];
  for (let d = 0; d < count; d++) {
    const fresh = random() < freshFraction;
    // Each mini-world is thrown away after its demonstration: its names are new to it and never the world's.
    const names = new LabNameGenerator(nameRandom, worldNames);
    let template: LabTemplate;
    let chain: Plan['chain'];
    let question: string;
    if (fresh) {
      template = LAB_TEMPLATES[Math.floor(random() * LAB_TEMPLATES.length)]!;
      chain = [{ kind: template.subject, name: names.name() }];
      for (let h = 0; h < template.hops; h++) chain.push({ kind: NEXT_KIND[chain[h]!.kind]!, name: names.name() });
      question = template.text(chain[0]!.name);
    } else {
      const q = trainQuestions[order[nextReal++ % order.length]!]!;
      template = labTemplate(q.data_source);
      chain = q.chain.map((id) => {
        const e = byId.get(id);
        if (!e) throw new RangeError(`question ${q.id}: unknown entity ${id}`);
        return { kind: e.kind, name: e.name };
      });
      question = q.question;
    }
    const p = shortcut[template.id] ?? 0;
    const searches = template.hops > 1 && random() < p ? 1 + Math.floor(random() * (template.hops - 1)) : template.hops;
    const hits: SearchHit[][] = [];
    if (fresh) {
      for (let h = 0; h < searches; h++) {
        const page = { id: `fresh-${d}-${h}`, contents: labPageContents(chain[h]!.kind, chain[h]!.name, chain[h + 1]!.name) };
        const list: SearchHit[] = [{ document: page, score: 1 }];
        // Extra results when topk > 1: pages of other invented people.
        for (let k = 1; k < topk; k++) {
          list.push({ document: { id: `fresh-${d}-${h}-${k}`, contents: labPageContents('person', names.name(), names.name()) }, score: 0 });
        }
        hits.push(list);
      }
    }
    plans.push({ template, question, chain, searches, fresh, hits });
  }
  const real = plans.filter((plan) => !plan.fresh);
  const queries = real.flatMap((plan) => plan.chain.slice(0, plan.searches).map((e) => labGoldQuery(e.kind, e.name)));
  if (queries.length > 0) {
    const results = await retriever.search(queries, topk);
    if (!Array.isArray(results) || results.length !== queries.length) {
      throw new RexragError(`the retriever returned ${Array.isArray(results) ? results.length : 'no'} result lists for ${queries.length} queries`, 'ERR_RETRIEVER');
    }
    let cursor = 0;
    for (const plan of real) for (let h = 0; h < plan.searches; h++) plan.hits.push(results[cursor++]!);
  }
  return plans.map((plan) => {
    const segments: SftSegment[] = [];
    for (let h = 0; h < plan.searches; h++) {
      segments.push(search(labGoldQuery(plan.chain[h]!.kind, plan.chain[h]!.name)));
      segments.push({ kind: 'information', text: informationObservation(plan.hits[h]!) });
    }
    segments.push(answer(plan.chain[plan.searches]!.name));
    return {
      question: plan.question,
      segments,
      golds: [plan.chain[plan.chain.length - 1]!.name],
      data_source: plan.template.id,
      hops: plan.template.hops,
      searches: plan.searches,
      shortcut: plan.searches < plan.template.hops,
      fresh: plan.fresh,
    };
  });
}
