/**
 * Export the organism as a Hugging Face GPT-2 folder: `GPT2LMHeadModel.from_pretrained(dir)` and
 * `AutoTokenizer.from_pretrained(dir)` load it, and llama.cpp tooling starts from it (the GGUF
 * converter is worker/dramatis_worker/export_gguf.py, run by `dramatis organism export --format gguf`).
 *
 * What is exact and what approximates:
 * - The network is exact. The organism *is* GPT-2 (pre-LayerNorm blocks, causal multi-head
 *   attention with 1/sqrt(head dim) scaling, tanh-approximate GELU = `gelu_new`, LayerNorm epsilon
 *   1e-5, learned positions, tied embeddings) and its parameters already carry GPT-2's names and
 *   Conv1D [in, out] layout, so the weights are written unchanged under `transformer.` (the LM head
 *   is tied to `transformer.wte.weight`, as GPT-2's is). On the same token ids, transformers' float32
 *   logits equal the organism's up to float rounding (test/organism/export.test.ts measures it).
 * - Token ids are exact: the WordLevel vocabulary is the organism's vocab.json, id for id, and the
 *   special tokens are the same ids.
 * - Text tokenization is as close as the `tokenizers` format allows, and exact on the world's own
 *   text (lowercase ASCII): a Lowercase normalizer, then a whitespace split and a Split on the world's
 *   TOKEN_PATTERN with behavior "isolated", which together reproduce `splitWords`
 *   (src/world/text.ts). They can differ on exotic Unicode only: JavaScript lowercases and matches
 *   `\s` on UTF-16 code units, the Rust side on code points (an astral character is one token there
 *   and two here), and the two disagree about a few code points being whitespace (e.g. U+FEFF).
 * - Decoding reproduces `joinWords`: tokens joined by spaces, none before `. , ? ! : ; )` and none
 *   after `(`.
 * - The chat template renders the organism's chat layout (`<doc> <system> … <user> … <assistant> …
 *   <end>`, with `<assistant>` as the generation prompt), so `apply_chat_template(…, tokenize=True)`
 *   gives the ids `Tokenizer.encodeChat` gives.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeSafetensors, decodeSafetensors, type TensorMap } from '../shared/safetensors.ts';
import { TOKEN_PATTERN, NO_SPACE_AFTER, NO_SPACE_BEFORE } from '../world/text.ts';
import { readCheckpointConfig, type Provenance } from './checkpoint.ts';
import { parameterShapes, type GptConfig } from './model.ts';
import { SPECIAL_TOKENS, Tokenizer } from './tokenizer.ts';
import type { Organism } from './organism.ts';

/** The LayerNorm epsilon every layer norm of the organism uses (the default of kernels/layer-norm.ts). */
export const LAYER_NORM_EPSILON = 1e-5;

/** The files an export writes, in the folder given. */
export const HF_FILES = [
  'config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'generation_config.json',
] as const;

/**
 * The organism's chat layout (Tokenizer.encodeChat) as a Jinja chat template. Spaces between the
 * parts only separate words: the tokenizer splits on them and the special tokens are matched whole.
 */
export const CHAT_TEMPLATE =
  "{{- '<doc>' -}}" +
  '{%- for message in messages -%}' +
  "{{- ' <' + message['role'] + '> ' + message['content'] -}}" +
  "{%- if message['role'] == 'assistant' -%}{{- ' <end>' -}}{%- endif -%}" +
  '{%- endfor -%}' +
  "{%- if add_generation_prompt -%}{{- ' <assistant>' -}}{%- endif -%}";

interface ExportSource {
  config: GptConfig;
  vocab: readonly string[];
  tensors: TensorMap;
  provenance: Provenance | Record<string, unknown>;
  path: string;
}

async function sourceOf(from: Organism | string): Promise<ExportSource> {
  if (typeof from === 'string') {
    // A checkpoint folder, read without tfjs: the weights go from one safetensors file to another.
    const { config, provenance } = readCheckpointConfig(from);
    const vocab = new Tokenizer(JSON.parse(readFileSync(join(from, 'vocab.json'), 'utf8')) as string[]).vocab;
    const file = join(from, 'model.safetensors');
    const { tensors } = decodeSafetensors(readFileSync(file), file);
    return { config, vocab, tensors, provenance, path: from };
  }
  const tensors: TensorMap = new Map();
  for (const [name] of parameterShapes(from.config)) {
    const v = from.ck.params.get(name);
    if (!v) throw new Error(`export: the organism has no parameter ${name}`);
    tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
  }
  return { config: from.config, vocab: from.tokenizer.vocab, tensors, provenance: from.ck.provenance, path: from.path };
}

function specialIds(vocab: readonly string[]) {
  const id = (t: string) => {
    const i = vocab.indexOf(t);
    if (i < 0) throw new Error(`export: the vocabulary has no ${t}`);
    return i;
  };
  return { bos: id('<doc>'), eos: id('<end>'), endDoc: id('</doc>'), pad: id('<pad>'), unk: id('<unk>') };
}

/** The `tokenizers` library's JSON for the organism's word-level tokenizer. */
export function tokenizerJson(vocab: readonly string[]): unknown {
  const replace = (from: string, to: string) => ({ type: 'Replace', pattern: { String: from }, content: to });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({
      id: vocab.indexOf(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Lowercase' },
    // splitWords = lowercase, then TOKEN_PATTERN's matches. Every non-space character is in some
    // alternative of the pattern, so after a whitespace split the isolated matches cover each piece.
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Split', pattern: { Regex: TOKEN_PATTERN.source }, behavior: 'Isolated', invert: false }],
    },
    post_processor: null,
    // joinWords: WordPiece without continuation tokens puts a space before every token but the first;
    // fused into one string, the spaces joinWords leaves out are taken out again.
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'WordPiece', prefix: '##', cleanup: false },
        { type: 'Fuse' },
        ...[...NO_SPACE_BEFORE].map((p) => replace(` ${p}`, p)),
        ...[...NO_SPACE_AFTER].map((p) => replace(`${p} `, p)),
      ],
    },
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((t, i) => [t, i])), unk_token: '<unk>' },
  };
}

/**
 * Write `from` (an Organism, or a checkpoint folder) as a Hugging Face GPT-2 folder at `outDir`.
 * Returns the paths written.
 */
export async function exportHuggingFace(from: Organism | string, outDir: string): Promise<string[]> {
  const src = await sourceOf(from);
  const { config: c, vocab } = src;
  if (vocab.length !== c.vocabSize) throw new Error(`export: ${vocab.length} tokens in the vocabulary, the config says ${c.vocabSize}`);
  const ids = specialIds(vocab);
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    writeFileSync(join(outDir, name), data);
    written.push(join(outDir, name));
  };
  const json = (name: string, value: unknown) => write(name, JSON.stringify(value, null, 2) + '\n');

  json('config.json', {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.nCtx,
    n_ctx: c.nCtx,
    n_embd: c.nEmbd,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_inner: 4 * c.nEmbd,
    activation_function: 'gelu_new',
    layer_norm_epsilon: LAYER_NORM_EPSILON,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    summary_first_dropout: 0,
    initializer_range: 0.02,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    use_cache: true,
    tie_word_embeddings: true,
    bos_token_id: ids.bos,
    eos_token_id: ids.eos,
    pad_token_id: ids.pad,
    dtype: 'float32',
    torch_dtype: 'float32', // the name before transformers 5
    dramatis: { format: 'dramatis-organism/1', source: src.path, model: c, provenance: src.provenance },
  });

  const tensors: TensorMap = new Map();
  for (const [name, shape] of parameterShapes(c)) {
    const t = src.tensors.get(name);
    if (!t) throw new Error(`export: missing tensor ${name}`);
    if (t.shape.join() !== shape.join()) throw new Error(`export: tensor ${name} has shape [${t.shape}], expected [${shape}]`);
    tensors.set(`transformer.${name}`, t);
  }
  write('model.safetensors', encodeSafetensors(tensors, { format: 'pt' }));

  write('tokenizer.json', JSON.stringify(tokenizerJson(vocab)) + '\n');
  const named = { bos_token: '<doc>', eos_token: '<end>', unk_token: '<unk>', pad_token: '<pad>' };
  const extra = SPECIAL_TOKENS.filter((t) => !Object.values(named).includes(t));
  json('tokenizer_config.json', {
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...named,
    additional_special_tokens: extra,
    model_max_length: c.nCtx,
    clean_up_tokenization_spaces: false,
    add_bos_token: false,
    add_eos_token: false,
    padding_side: 'right',
    chat_template: CHAT_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(
      SPECIAL_TOKENS.map((t) => [String(vocab.indexOf(t)), { content: t, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }]),
    ),
  });
  json('special_tokens_map.json', { ...named, additional_special_tokens: extra });
  // Sampling as the organism samples by default: the whole distribution at temperature 1.
  json('generation_config.json', {
    bos_token_id: ids.bos,
    eos_token_id: [ids.eos, ids.endDoc],
    pad_token_id: ids.pad,
    do_sample: true,
    temperature: 1.0,
    top_k: 0,
    top_p: 1.0,
    max_length: c.nCtx,
  });
  return written;
}
