// The Search-R1 text protocol: the exact prompt, question preprocessing, action parsing, observation format,
// invalid-action notices, component codes and loss masks.
import test from 'ava';

import { findFirstActionBlock, hasMatchingOpenTag, truncateAfterFirstAction } from '../../lib/rollout/actions.js';
import { COMPONENT, componentName, lossMaskFromComponents } from '../../lib/algo/components.js';
import {
  formatDocuments,
  informationObservation,
  invalidActionNotice,
  REX_INVALID_NOTICE,
  SEARCH_R1_INVALID_NOTICE,
} from '../../lib/rollout/observation.js';
import { buildPromptMessages, preprocessQuestion, searchR1Prompt } from '../../lib/rollout/search-r1-prompt.js';

test('the prompt is byte-identical to Search-R1 make_prefix(template_type="base")', (t) => {
  // The Python string, as printed by repr() of make_prefix({'question': 'Q?'}, 'base') at Search-R1 a14dc3a4.
  const expected =
    'Answer the given question. You must conduct reasoning inside <think> and </think> first every time you get new information. After reasoning, if you find you lack some knowledge, you can call a search engine by <search> query </search> and it will return the top searched results between <information> and </information>. You can search as many times as your want. If you find no further external knowledge needed, you can directly provide the answer inside <answer> and </answer>, without detailed illustrations. For example, <answer> Beijing </answer>. Question: Q?\n';
  t.is(searchR1Prompt('Q?'), expected);
  t.deepEqual(buildPromptMessages(' Q '), [{ role: 'user', content: expected }]);
});

test('questions are stripped and get a question mark', (t) => {
  t.is(preprocessQuestion('  who wrote hamlet  '), 'who wrote hamlet?');
  t.is(preprocessQuestion('why?'), 'why?');
  t.is(preprocessQuestion('\nwhen ?\n'), 'when ?');
  t.throws(() => preprocessQuestion('   '), { instanceOf: RangeError });
  t.throws(() => preprocessQuestion(3 as unknown as string), { instanceOf: TypeError, message: /question must be a string/ });
});

test('the first complete action block wins; closing tags must match', (t) => {
  t.deepEqual(findFirstActionBlock('<think>x</think>\n<search>  capital of France \n</search> tail'), {
    action: 'search',
    content: 'capital of France',
    start: 17,
    end: 55,
  });
  // <search> never closes with </search>: the answer block is the first complete one.
  t.like(findFirstActionBlock('<search> a </answer> <answer> b </answer>'), { action: 'answer', content: 'b' });
  // ...but a later </search> does close it, as in Python's re.search.
  t.like(findFirstActionBlock('<search> a </answer> <search> c </search>'), { action: 'search', content: 'a </answer> <search> c' });
  t.is(findFirstActionBlock('<search> open only'), null);
  t.is(findFirstActionBlock('no tags'), null);
  t.is(truncateAfterFirstAction('<answer>1</answer> and more <answer>2</answer>'), '<answer>1</answer>');
  t.is(truncateAfterFirstAction('nothing'), 'nothing');
  // Shortest content: the first closing tag ends the block.
  t.like(findFirstActionBlock('<answer>1</answer>2</answer>'), { content: '1' });
});

test('hasMatchingOpenTag tells an orphan closing tag from a real one', (t) => {
  t.true(hasMatchingOpenTag('<search> q </search>', '</search>'));
  t.false(hasMatchingOpenTag('I will search </search>', '</search>'));
  t.false(hasMatchingOpenTag('<answer> x </search>', '</search>'));
  t.false(hasMatchingOpenTag('</search> then <search>', '</search>'));
  t.true(hasMatchingOpenTag('</answer><answer>y</answer>', '</answer>'));
  t.throws(() => hasMatchingOpenTag('x', '</think>'), { instanceOf: RangeError });
});

test('documents are formatted as Search-R1 _passages2string', (t) => {
  const hits = [
    { document: { id: '1', contents: '"Evan Morris"\nEvan L. Morris was a lobbyist.\nSecond line.' }, score: 0.9 },
    { document: { id: '2', contents: 'Only a title' }, score: 0.5 },
  ];
  t.is(formatDocuments(hits), 'Doc 1(Title: "Evan Morris") Evan L. Morris was a lobbyist.\nSecond line.\nDoc 2(Title: Only a title)');
  t.is(
    informationObservation(hits),
    '\n\n<information>Doc 1(Title: "Evan Morris") Evan L. Morris was a lobbyist.\nSecond line.\nDoc 2(Title: Only a title)</information>\n\n',
  );
  t.is(informationObservation([]), '\n\n<information></information>\n\n');
  t.throws(() => formatDocuments([{ document: { id: '1' } } as never]), { instanceOf: TypeError, message: /hits\[0\].document.contents/ });
});

test('invalid-action notices: REX by default, Search-R1 on request', (t) => {
  t.is(invalidActionNotice(), '\nMy action is invalid. ');
  t.is(invalidActionNotice('rex'), REX_INVALID_NOTICE);
  t.is(
    invalidActionNotice('search-r1'),
    '\nMy previous action is invalid. If I want to search, I should put the query between <search> and </search>. If I want to give the final answer, I should put the answer between <answer> and </answer>. Let me try again.\n',
  );
  t.is(SEARCH_R1_INVALID_NOTICE, invalidActionNotice('search-r1'));
  t.throws(() => invalidActionNotice('long' as 'rex'), { instanceOf: RangeError });
});

test('component codes follow REX and only model and probe-prompt tokens are trained', (t) => {
  t.deepEqual(COMPONENT, { prompt: 0, model: 1, invalid: 3, information: 4, 'probe-prompt': 5 });
  t.deepEqual(lossMaskFromComponents([0, 1, 4, 3, 5, 1]), [0, 1, 0, 0, 1, 1]);
  t.deepEqual(lossMaskFromComponents(new Uint8Array([5, 4])), [1, 0]);
  t.is(componentName(4), 'information');
  t.throws(() => lossMaskFromComponents([1, 2]), { instanceOf: RangeError, message: /unknown component code number 2/ });
  t.throws(() => lossMaskFromComponents(null as never), { instanceOf: TypeError });
});
