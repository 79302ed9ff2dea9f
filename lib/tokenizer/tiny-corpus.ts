// The fixed English text the tiny test tokenizer's BPE merges are learned from: short search-agent episodes with
// the agent tags, so that tags and common words become few tokens. Training is left to bpe-trainer.ts.

/** Built-in training text (ASCII). Changing it changes the tiny tokenizer and every tiny model written after. */
export const TINY_CORPUS = `Answer the given question. Think step by step inside <think> and </think> before every action.
When you need facts you do not know, search with <search> your query </search> and read the results,
which come back between <information> and </information>. You may search more than once.
When you know enough, give the final answer inside <answer> and </answer> with no extra words.

Question: What is the capital of France?
<think> The question asks for the capital city of France. I am fairly sure, but I will search to check. </think>
<search> capital of France </search>
<information> Doc 1 (Title: Paris) Paris is the capital and the largest city of France. It is on the river Seine. </information>
<think> The search result says Paris is the capital of France. </think>
<answer> Paris </answer>

Question: Who wrote the novel about the white whale?
<think> The novel about the white whale is Moby-Dick. I need the name of the writer. </think>
<search> author of Moby-Dick </search>
<information> Doc 1 (Title: Moby-Dick) Moby-Dick is a novel by the American writer Herman Melville, first published in 1851. </information>
<think> The writer is Herman Melville. </think>
<answer> Herman Melville </answer>

Question: In which year did the first person walk on the moon?
<think> I think this was in 1969, but let me search to be sure. </think>
<search> first person to walk on the moon year </search>
<information> Doc 1 (Title: Apollo 11) Apollo 11 was the first mission to land people on the moon, in July 1969. Neil Armstrong was the first person to walk on the moon. </information>
<think> The first moon walk was in 1969. </think>
<answer> 1969 </answer>

Question: What is the longest river in the world?
<think> The answer is either the Nile or the Amazon. I should search for the information. </think>
<search> longest river in the world </search>
<information> Doc 1 (Title: Nile) The Nile is a river in Africa. It is often said to be the longest river in the world.
Doc 2 (Title: Amazon River) The Amazon River in South America is the largest river by the amount of water. </information>
<think> The search results say the Nile is the longest river. </think>
<answer> Nile </answer>

Question: Which element has the chemical symbol O?
<think> The chemical symbol O stands for oxygen. I do not need to search. </think>
<answer> oxygen </answer>

Question: Who painted the picture of the woman with the mysterious smile?
<think> This is the Mona Lisa. I will search for the painter. </think>
<search> painter of the Mona Lisa </search>
<information> Doc 1 (Title: Mona Lisa) The Mona Lisa is a portrait painting by the Italian artist Leonardo da Vinci. </information>
<think> The painter is Leonardo da Vinci. </think>
<answer> Leonardo da Vinci </answer>

Question: How many legs does a spider have?
<think> Spiders have eight legs. Let me check with a search anyway. </think>
<search> how many legs does a spider have </search>
<information> Doc 1 (Title: Spider) Spiders are animals with eight legs and a body in two parts. </information>
<think> The information confirms that a spider has eight legs. </think>
<answer> eight </answer>

Question: What is the name of the largest planet in the solar system?
<think> I believe it is Jupiter. I will search for the largest planet. </think>
<search> largest planet in the solar system </search>
<information> Doc 1 (Title: Jupiter) Jupiter is the fifth planet from the Sun and the largest planet in the solar system. </information>
<think> Jupiter is the largest planet. </think>
<answer> Jupiter </answer>

Question: What color is the sky on a clear day?
<think>The sky on a clear day is blue.</think>
<answer>blue</answer>

Question: Which ocean is the largest?
<think>
I should search for the largest ocean.
</think>
<search>largest ocean</search>
<information>Doc 1 (Title: Pacific Ocean) The Pacific Ocean is the largest and deepest ocean.</information>
<think>
The Pacific Ocean is the largest.
</think>
<answer>Pacific Ocean</answer>

The model reads the question, thinks, searches, reads the information, thinks again and then answers.
A good answer is short and exact. The search engine returns a few documents for every query, and each
document has a title and some text. If the information does not answer the question, the model can search
again with a better query. It is important to think before each search and after each result.

A conversation has turns. The system turn says who the assistant is: You are Qwen, created by Alibaba Cloud.
You are a helpful assistant. The user turn holds the question of the user. The assistant turn holds the
answer of the assistant. The system, the user and the assistant take turns, and every turn ends before the
next one starts. The assistant should be helpful, honest and short when the user asks a question.
`;
