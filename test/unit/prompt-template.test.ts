// The rollout prompt templates: Search-R1's instruction stays the default; 'compact' is the question alone.
import test from 'ava';

import { rlConfigSchema } from '../../lib/config/rl-config.js';
import { buildPromptMessages, searchR1Prompt } from '../../lib/rollout/search-r1-prompt.js';

test('search-r1 is the default prompt; compact is the preprocessed question; others are refused', (t) => {
  t.deepEqual(buildPromptMessages('who founded kavo'), [{ role: 'user', content: searchR1Prompt('who founded kavo') }]);
  t.deepEqual(buildPromptMessages(' who founded kavo ', 'compact'), [{ role: 'user', content: 'who founded kavo?' }]);
  t.throws(() => buildPromptMessages('q', 'long' as never), { message: /prompt template must be one of search-r1, compact/ });
  t.is(rlConfigSchema.parse({}).rollout.promptTemplate, 'search-r1');
  t.is(rlConfigSchema.parse({ rollout: { promptTemplate: 'compact' } }).rollout.promptTemplate, 'compact');
  t.throws(() => rlConfigSchema.parse({ rollout: { promptTemplate: 'short' } }));
});
