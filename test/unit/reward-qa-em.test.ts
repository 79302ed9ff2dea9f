// QA rewards: SQuAD normalisation, EM / substring EM / token F1 against gold lists, last-answer extraction.
import test from 'ava';

import {
  exactMatch,
  extractAnswer,
  normalizeAnswer,
  scoreAnswer,
  substringExactMatch,
  tokenF1,
} from '../../lib/reward/qa-em.js';

test('normalisation: lowercase, punctuation removed, articles removed, whitespace collapsed', (t) => {
  t.is(normalizeAnswer('The  Eiffel-Tower!'), 'eiffeltower');
  t.is(normalizeAnswer('A cat, an apple & the end.'), 'cat apple end');
  t.is(normalizeAnswer('  an\tapple\n'), 'apple');
  t.is(normalizeAnswer('the_end'), 'theend'); // '_' is in string.punctuation
  t.is(normalizeAnswer("l'the"), 'lthe'); // the apostrophe goes first, so "the" is not a word
  t.is(normalizeAnswer('Theatre then another'), 'theatre then another');
  t.is(normalizeAnswer('the1 a2'), 'the1 a2');
  t.is(normalizeAnswer('THE'), '');
  // Unicode letters are word characters (Python 3's \b): no article inside "éthe" or "theé".
  t.is(normalizeAnswer('éthe theé the'), 'éthe theé');
  t.is(normalizeAnswer('Ça va?'), 'ça va');
});

test('exact match against any gold answer', (t) => {
  t.is(exactMatch('The Beatles', ['beatles']), 1);
  t.is(exactMatch('Beatles, The', ['the beatles']), 1);
  t.is(exactMatch('Paris', ['London', 'paris.']), 1);
  t.is(exactMatch('Paris France', ['Paris']), 0);
  t.is(exactMatch('Paris', []), 0);
});

test('substring exact match', (t) => {
  t.is(substringExactMatch('president barack obama', ['Barack Obama']), 1);
  t.is(substringExactMatch('obama', ['Barack Obama']), 0);
  t.is(substringExactMatch('x', ['y', 'X!']), 1);
});

test('token F1 is the best over golds', (t) => {
  // P = 2/3, R = 1 → F1 = 0.8
  t.true(Math.abs(tokenF1('Barack Obama Jr', ['Barack Obama']) - 0.8) < 1e-12);
  // Repeated words count at most as often as in the gold: pred "cat cat dog", gold "cat dog dog": overlap cat×1 + dog×1 = 2; P = R = 2/3.
  t.true(Math.abs(tokenF1('cat cat dog', ['cat dog dog']) - 2 / 3) < 1e-12);
  t.is(tokenF1('Paris', ['London', 'Paris']), 1);
  t.is(tokenF1('Rome', ['London']), 0);
  // Empty after normalisation: 1 only when both sides are empty.
  t.is(tokenF1('the', ['a']), 1);
  t.is(tokenF1('the', ['London']), 0);
});

test('the last <answer> block is extracted, across newlines, trimmed', (t) => {
  t.is(extractAnswer('<answer> a </answer> then <answer>\n Paris \n</answer>'), 'Paris');
  t.is(extractAnswer('<search> x </search>'), null);
  t.is(extractAnswer('<answer> unclosed'), null);
  t.is(extractAnswer('<answer></answer>'), '');
  // One block is enough: rexrag scores the response only (see extractAnswer's doc).
  t.is(extractAnswer('<think>hmm</think><answer> Beijing </answer>'), 'Beijing');
});

test('scoreAnswer: metric of the last answer, 0 without one', (t) => {
  const response = '<think>...</think><search> q </search><information>x</information><answer> The Beatles </answer>';
  t.is(scoreAnswer(response, ['Beatles']), 1);
  t.is(scoreAnswer(response, ['Rolling Stones']), 0);
  t.is(scoreAnswer('no answer here', ['Beatles']), 0);
  t.is(scoreAnswer('<answer>Barack Obama Jr</answer>', ['Barack Obama'], { metric: 'subem' }), 1);
  t.true(Math.abs(scoreAnswer('<answer>Barack Obama Jr</answer>', ['Barack Obama'], { metric: 'f1' }) - 0.8) < 1e-12);
  t.is(scoreAnswer('<answer>Barack Obama Jr</answer>', ['Barack Obama'], { metric: 'em' }), 0);
  t.throws(() => scoreAnswer('x', ['y'], { metric: 'bleu' as 'em' }), { instanceOf: RangeError, message: /options.metric/ });
  t.throws(() => scoreAnswer('x', 'y' as unknown as string[]), { instanceOf: TypeError, message: /golds must be an array/ });
  t.throws(() => scoreAnswer('x', [3 as unknown as string]), { instanceOf: TypeError, message: /golds\[0\] must be a string/ });
});
