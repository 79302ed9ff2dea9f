// A ChatML chat template (Jinja) that renders conversations the way Qwen2.5's shipped template does when no tools
// are given; the tiny test model ships it. Rendering is left to hf-tokenizer.ts (@huggingface/jinja).

/** Qwen2.5's default system message, used when a conversation does not start with a system turn. */
export const QWEN2_DEFAULT_SYSTEM_MESSAGE = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';

/**
 * ChatML: `<|im_start|>{role}\n{content}<|im_end|>\n` per message, a default system turn first when the
 * conversation has none, and `<|im_start|>assistant\n` as the generation prompt. For the same messages this
 * gives the same string as Qwen2.5-Instruct's template without tools.
 */
export const QWEN2_CHAT_TEMPLATE = [
  "{%- if not messages or messages[0]['role'] != 'system' %}",
  "{{- '<|im_start|>system\\n" + QWEN2_DEFAULT_SYSTEM_MESSAGE + "<|im_end|>\\n' }}",
  '{%- endif %}',
  '{%- for message in messages %}',
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "{{- '<|im_start|>assistant\\n' }}",
  '{%- endif %}',
].join('\n');
