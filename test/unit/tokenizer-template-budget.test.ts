// The chat template runs within a budget: a looping or ballooning template fails quickly with a LimitError
// (code ERR_LIMIT) instead of exhausting memory, and an ordinary template renders exactly as before.
import { Template } from '@huggingface/jinja';
import test from 'ava';

import { LAB_SYLLABLES } from '../../lib/data/lab-names.js';
import { LAB_WORDS } from '../../lib/data/lab-templates.js';
import { isRexragError, LimitError } from '../../lib/errors.js';
import { HfTokenizer } from '../../lib/tokenizer/hf-tokenizer.js';
import { buildLabTokenizer } from '../../lib/tokenizer/lab-tokenizer.js';
import { DEFAULT_TEMPLATE_BUDGET, renderTemplate } from '../../lib/tokenizer/template-budget.js';

const files = buildLabTokenizer({ syllables: LAB_SYLLABLES, words: LAB_WORDS });
const withTemplate = (template: string) => new HfTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: { ...files.tokenizerConfig, chat_template: template } }, 'model-dir');
const messages = [{ role: 'user' as const, content: 'where was kavoru born ?' }];

test('a template looping 1e8 times fails at once on range(), before allocating the list', (t) => {
  const tokenizer = withTemplate('{% for i in range(100000000) %}x{% endfor %}');
  const error = t.throws(() => tokenizer.applyChatTemplate(messages), { instanceOf: LimitError });
  t.true(isRexragError(error, 'ERR_LIMIT'));
  t.regex(error!.message, /model-dir: the chat template asks for range\(\) of 100000000 items, over the limit of 100000/);
  t.is(error!.limit, 'maxRangeItems');
});

test('nested loops that would run for hours stop at the render-time budget', (t) => {
  const tokenizer = withTemplate('{% for a in range(50000) %}{% for b in range(50000) %}{% if a == b %}{% endif %}{% endfor %}{% endfor %}');
  const error = t.throws(() => tokenizer.applyChatTemplate(messages, { budget: { timeoutMs: 100 } }), { instanceOf: LimitError });
  t.is(error!.limit, 'timeoutMs');
  t.regex(error!.message, /did not finish rendering within 100 ms/);
});

test('output over maxOutputChars is refused', (t) => {
  const tokenizer = withTemplate('{% for i in range(500) %}{{ messages[0].content }}{% endfor %}');
  const error = t.throws(() => tokenizer.applyChatTemplate(messages, { budget: { maxOutputChars: 1000 } }), { instanceOf: LimitError });
  t.is(error!.limit, 'maxOutputChars');
  t.regex(error!.message, /produced 11500 characters, over the limit of 1000/);
  t.is(tokenizer.applyChatTemplate(messages).length, 11_500, 'the default budget renders it');
  t.throws(() => tokenizer.applyChatTemplate(messages, { budget: { timeoutMs: 0 } }), { instanceOf: RangeError, message: /options\.budget\.timeoutMs/ });
});

test('a budgeted rendering equals Template.render: ChatML, globals, raise_exception, strftime_now', (t) => {
  const source = [
    '{%- for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}',
    '{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
    '{{- range(3) | join(",") }}{{ true }}{{ none is none }}{{ strftime_now("%Y") | length }}',
  ].join('');
  const items = { messages: [{ role: 'system', content: 'be brief' }, ...messages], add_generation_prompt: true };
  const template = new Template(source);
  t.is(renderTemplate(template, items, DEFAULT_TEMPLATE_BUDGET, 'x'), template.render(items));
  t.throws(() => renderTemplate(new Template('{{ raise_exception("no system role") }}'), {}, DEFAULT_TEMPLATE_BUDGET, 'x'), { message: /no system role/ });
  const error = t.throws(() => withTemplate('{{ raise_exception("bad") }}').applyChatTemplate(messages));
  t.true(isRexragError(error, 'ERR_INVALID_ARG'), 'template errors keep their code');
});
