/**
 * A model's own chat template (the Jinja source a GGUF or a Hugging Face tokenizer carries), rendered
 * with Hugging Face's own Jinja implementation (`@huggingface/jinja`, the one transformers.js uses), so
 * a prompt is the same text `tokenizer.apply_chat_template` would give.
 */
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from '../shared/chat.ts';

export interface ChatTemplate {
  /** The prompt text: the conversation, then the assistant's opening when `generationPrompt`. */
  render(messages: ChatMessage[], o: { generationPrompt: boolean }): string;
}

export function chatTemplate(source: string, tokens: { bos: string | null; eos: string | null }, where: string): ChatTemplate {
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new Error(`${where}: its chat template does not parse: ${(e as Error).message}`);
  }
  return {
    render(messages, o) {
      try {
        return template.render({
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: o.generationPrompt,
          bos_token: tokens.bos ?? '',
          eos_token: tokens.eos ?? '',
        });
      } catch (e) {
        throw new Error(`${where}: its chat template failed on a conversation of ${messages.length} messages: ${(e as Error).message}`);
      }
    },
  };
}
