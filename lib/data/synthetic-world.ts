// The synthetic multi-hop world behind the embedded lab, in one import: generate a world, write its corpus and
// questions, and the text its tokenizer is trained on. Each piece lives in its own world-*.ts file; demonstration
// trajectories are in demonstrations.ts.
export { generateWorld } from './world-generate.js';
export type { WorldOptions } from './world-generate.js';
export { worldCorpus } from './world-corpus.js';
export { QUESTION_TYPES, worldQuestions } from './world-questions.js';
export type { QuestionType, WorldQuestion, WorldQuestionOptions, WorldQuestionSplits } from './world-questions.js';
export { readWorld, writeWorldFiles } from './world-files.js';
export type { WorldFiles, WriteWorldOptions } from './world-files.js';
export { RELATION_SUBJECT, WorldLookup } from './world-relations.js';
export type { EntityRef, Relation, Target } from './world-relations.js';
export { WORLD_TOKENIZER_MERGES, worldTokenizerText } from './world-tokenizer-text.js';
export type { WorldTokenizerTextOptions } from './world-tokenizer-text.js';
export { PROFESSIONS } from './world-types.js';
export type { City, Country, EntityKind, Language, Person, Profession, River, Work, WorkKind, World } from './world-types.js';
