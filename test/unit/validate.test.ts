// The argument checks name the argument, the expectation and what was received.
import test from 'ava';

import { expectInteger, expectNumber, expectObject, expectString, expectTokenIds } from '../../lib/validate.js';

test('expectInteger accepts integers in range and names the argument otherwise', (t) => {
  t.is(expectInteger(3, 'n', { min: 1, max: 5 }), 3);
  t.throws(() => expectInteger('3', 'options.size'), { instanceOf: TypeError, message: 'options.size must be an integer, got string "3"' });
  t.throws(() => expectInteger(2.5, 'n'), { instanceOf: TypeError, message: /n must be an integer, got number 2.5/ });
  t.throws(() => expectInteger(0, 'n', { min: 1 }), { instanceOf: RangeError, message: 'n must be >= 1, got 0' });
  t.throws(() => expectInteger(9, 'n', { max: 8 }), { instanceOf: RangeError, message: 'n must be <= 8, got 9' });
});

test('expectNumber rejects NaN and non-numbers', (t) => {
  t.is(expectNumber(0.5, 'p', { min: 0, max: 1 }), 0.5);
  t.throws(() => expectNumber(Number.NaN, 'p'), { instanceOf: TypeError });
  t.throws(() => expectNumber(null, 'p'), { instanceOf: TypeError, message: 'p must be a number, got null' });
});

test('expectString, expectObject and expectTokenIds describe what they got', (t) => {
  t.throws(() => expectString(1, 's'), { instanceOf: TypeError, message: 's must be a string, got number 1' });
  t.throws(() => expectString('', 's', { nonEmpty: true }), { instanceOf: RangeError });
  t.throws(() => expectObject([], 'o'), { instanceOf: TypeError, message: 'o must be an object, got array(0)' });
  t.deepEqual(expectTokenIds([1, 2], 'ids', 3), [1, 2]);
  t.throws(() => expectTokenIds([1, 3], 'ids', 3), { instanceOf: RangeError, message: 'ids[1] must be <= 2, got 3' });
});
