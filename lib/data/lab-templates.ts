// The lab world's language: the page each kind of entity has, the gold search query for each hop, and the
// question templates (1-, 2- and 3-hop) with their `data_source` names. Generating entities is lab-world.ts's job.

/** The kinds of entity; each kind has at most one outgoing relation, so a question's chain follows `link`s. */
export type LabKind = 'person' | 'city' | 'country' | 'film' | 'company';

/** The page text of an entity (its title is its name), given the name of the entity it links to. */
export function labPageText(kind: LabKind, name: string, linked: string | null): string {
  const need = () => {
    if (linked === null) throw new RangeError(`a ${kind} page needs the linked entity's name`);
    return linked;
  };
  switch (kind) {
    case 'person': return `${name} was born in ${need()} .`;
    case 'city': return `${name} is a city in ${need()} .`;
    case 'country': return `${name} is a country .`;
    case 'film': return `${name} is a film directed by ${need()} .`;
    case 'company': return `${name} is a company founded by ${need()} .`;
    default: throw new RangeError(`unknown entity kind ${JSON.stringify(kind)}`);
  }
}

/** The corpus `contents` of a page: the title line, then the text (no quotes, so names keep their leading space in observations). */
export function labPageContents(kind: LabKind, name: string, linked: string | null): string {
  return `${name}\n${labPageText(kind, name, linked)}`;
}

const QUERY_WORD: Partial<Record<LabKind, string>> = { person: 'born', city: 'city', film: 'directed', company: 'founded' };

/** The gold query for the hop that starts at an entity of `kind` named `name`, e.g. "kavoru born". */
export function labGoldQuery(kind: LabKind, name: string): string {
  const word = QUERY_WORD[kind];
  if (word === undefined) throw new RangeError(`no hop starts at a ${kind}`);
  return `${name} ${word}`;
}

export interface LabTemplate {
  /** `data_source` of its questions: name/hops, e.g. "country-of-birth/2". */
  id: string;
  subject: LabKind;
  hops: 1 | 2 | 3;
  /** The question about a subject named `s`. */
  text(s: string): string;
}

/** Every template; a question of a template follows `hops` links from its subject. */
export const LAB_TEMPLATES: readonly LabTemplate[] = [
  { id: 'born-in/1', subject: 'person', hops: 1, text: (s) => `where was ${s} born ?` },
  { id: 'country-of/1', subject: 'city', hops: 1, text: (s) => `which country is ${s} in ?` },
  { id: 'director-of/1', subject: 'film', hops: 1, text: (s) => `who directed ${s} ?` },
  { id: 'founder-of/1', subject: 'company', hops: 1, text: (s) => `who founded ${s} ?` },
  { id: 'country-of-birth/2', subject: 'person', hops: 2, text: (s) => `which country was ${s} born in ?` },
  { id: 'director-birthplace/2', subject: 'film', hops: 2, text: (s) => `where was the director of ${s} born ?` },
  { id: 'founder-birthplace/2', subject: 'company', hops: 2, text: (s) => `where was the founder of ${s} born ?` },
  { id: 'director-country/3', subject: 'film', hops: 3, text: (s) => `which country was the director of ${s} born in ?` },
  { id: 'founder-country/3', subject: 'company', hops: 3, text: (s) => `which country was the founder of ${s} born in ?` },
];

/** The template with this id; throws on an unknown one. */
export function labTemplate(id: string): LabTemplate {
  const template = LAB_TEMPLATES.find((t) => t.id === id);
  if (!template) throw new RangeError(`unknown lab template ${JSON.stringify(id)}; known: ${LAB_TEMPLATES.map((t) => t.id).join(', ')}`);
  return template;
}

/** Every word of the lab's pages, queries, questions and observation frame: each becomes one token. */
export const LAB_WORDS: readonly string[] = [
  'where', 'was', 'born', 'which', 'country', 'is', 'in', 'who', 'directed', 'founded', 'the', 'director', 'founder',
  'of', 'a', 'city', 'film', 'company', 'by', 'Doc', '(Title', ':', ')', '.', '?',
];
