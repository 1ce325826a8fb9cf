/**
 * Exporting the shipped organism `assistant`: the Hugging Face folder run by transformers (CPU,
 * float32) gives the organism's own logits on the same token ids, and its tokenizer the same ids
 * and texts; the GGUF run by llama.cpp (node-llama-cpp) gives the same next-token distributions up to
 * llama.cpp's kernel rounding, and every token id round-trips through it. Also the persona-vector
 * files: the persona_vectors [L+1, d] layout and llama.cpp control vectors, written and read back.
 *
 * Python (transformers) comes from $DRAMATIS_WORKER_PYTHON or worker/.venv; without
 * one the Python parts skip with one loud line (and fail under CI=true), as does the GGUF part without
 * node-llama-cpp.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import type { Llama, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';
import { Organism } from '../../src/organism/organism.ts';
import { forward } from '../../src/organism/model.ts';
import { tf } from '../../src/organism/backend.ts';
import { exportHuggingFace, HF_FILES } from '../../src/organism/export-hf.ts';
import { convertToGguf } from '../../src/cli/organism-export.ts';
import { PACKAGE_ROOT } from '../../src/shared/paths.ts';
import { formatDocument, generateDocuments, postTrainingChat, worldConfig } from '../../src/world/index.ts';
import { loadVector, saveVector, type PersonaVector } from '../../src/experiments/persona-vector.ts';
import {
  exportPersonaVector,
  importPersonaVector,
  PERSONA_VECTORS_KEY,
  personaVectorFromStack,
  readLayerStack,
  writeLayerStack,
} from '../../src/experiments/vector-io.ts';
import { decodeSafetensors } from '../../src/shared/safetensors.ts';
import { tempDir } from '../helpers/tmp.ts';
import { onCI } from '../helpers/real-model.ts';

const NEEDED = ['torch', 'transformers', 'tokenizers', 'safetensors', 'gguf', 'numpy'];
const CANDIDATES = [process.env.DRAMATIS_WORKER_PYTHON, join(PACKAGE_ROOT, 'worker/.venv/bin/python')].filter((p): p is string => !!p && existsSync(p));
/** The first candidate that has the packages (a venv still being set up does not count). */
const PYTHON = CANDIDATES.find(
  (p) =>
    spawnSync(p, ['-c', `import importlib.util as u, sys; sys.exit(0 if all(u.find_spec(m) for m in ${JSON.stringify(NEEDED)}) else 1)`], { timeout: 60_000 })
      .status === 0,
);
const skipPython = (what: string): string | false => {
  if (PYTHON || onCI()) return false;
  const tried = CANDIDATES.length ? ` (${CANDIDATES.join(', ')} lack some of ${NEEDED.join(', ')})` : '';
  const why = `no Python with transformers${tried}: set DRAMATIS_WORKER_PYTHON or run \`npx dramatis worker setup\`; under CI=true this fails`;
  process.stderr.write(`\nSKIPPED ${what}: ${why}\n\n`);
  return why;
};
const pyEnv = { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONPATH: join(PACKAGE_ROOT, 'worker') };

/** The float32 reference: transformers on CPU, plus the same network with llama.cpp's CPU GELU (a float16 table). */
const HF_SCRIPT = String.raw`
import json, math, sys
import numpy as np, torch
from transformers import AutoTokenizer, GPT2LMHeadModel
job = json.load(open(sys.argv[1]))
torch.set_num_threads(1)
model = GPT2LMHeadModel.from_pretrained(job["dir"], dtype=torch.float32).eval()
tok = AutoTokenizer.from_pretrained(job["dir"])
def run(path):
    out = []
    with torch.no_grad():
        for ids in job["seqs"]:
            out.append(model(torch.tensor([ids])).logits[0].float().numpy())
    np.concatenate(out).astype(np.float32).tofile(path)
run(job["logits"])
class Gelu16(torch.nn.Module):
    # ggml-cpu's GELU for f32: x rounded to float16, looked up in a float16 table of the tanh GELU.
    def forward(self, x):
        h = x.half().float()
        y = (0.5 * h * (1 + torch.tanh(0.7978845608 * h * (1 + 0.044715 * h * h)))).half().float()
        return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, y))
for block in model.transformer.h:
    block.mlp.act = Gelu16()
run(job["logits16"])
report = {
    "texts": [tok(t, add_special_tokens=False)["input_ids"] for t in job["texts"]],
    "chats": [tok.apply_chat_template(c["messages"], tokenize=True, add_generation_prompt=c["gen"], return_dict=False) for c in job["chats"]],
    "decoded": [tok.decode(ids) for ids in job["seqs"]],
    "decodedSkip": [tok.decode(ids, skip_special_tokens=True) for ids in job["seqs"]],
    "specials": {k: getattr(tok, k + "_token_id") for k in ("bos", "eos", "unk", "pad")},
}
print(json.dumps(report))
`;

let org: Organism;
let hfDir: string;
/** Token sequences (≥ 200 positions in all): a chat, a whole-context world document, random ids. */
let seqs: number[][];
/** The organism's logits per sequence, [T * V]. */
let logits: Float32Array[];
let texts: string[];
/** transformers' logits with llama.cpp's float16-table GELU, for the GGUF comparison (filled by the transformers block). */
let gelu16: Buffer | undefined;
let chats: { messages: { role: 'system' | 'user' | 'assistant'; content: string }[]; gen: boolean }[];

before(async () => {
  org = await Organism.load('assistant');
  hfDir = join(tempDir('dramatis-export-'), 'hf');
  await exportHuggingFace(org, hfDir);
  const world = worldConfig({ seed: 'export-test' });
  const chat = postTrainingChat(world, 3).messages;
  const doc = formatDocument(generateDocuments(world, 1, { offset: 7 })[0]);
  const docIds = org.tokenizer.encode(doc).ids;
  while (docIds.length < org.config.nCtx) docIds.push(...org.tokenizer.encode(doc).ids);
  const rng = seedrandom('export-ids');
  seqs = [
    org.tokenizer.encodeChat(chat).ids.slice(0, org.config.nCtx),
    docIds.slice(0, org.config.nCtx),
    Array.from({ length: 64 }, () => Math.floor(rng() * org.config.vocabSize)),
  ];
  logits = seqs.map((ids) => {
    const t = tf.tidy(() => forward(org.config, org.ck.params, tf.tensor2d(ids, [1, ids.length], 'int32')).logits);
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  });
  texts = [doc, ...chat.map((m) => m.content), "Hello, World! (I've) 2024 o'clock: queen's? Ünïcödé puffin."];
  chats = [
    { messages: chat, gen: false },
    { messages: chat.slice(0, 2), gen: true },
  ];
});

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let z = 0;
  for (const x of row) z += Math.exp(x - max);
  const lz = Math.log(z) + max;
  return Float64Array.from(row, (x) => x - lz);
}

test('the Hugging Face folder has every file, GPT-2 keys and the organism config', () => {
  for (const f of HF_FILES) assert.ok(existsSync(join(hfDir, f)), f);
  const cfg = JSON.parse(readFileSync(join(hfDir, 'config.json'), 'utf8'));
  assert.equal(cfg.model_type, 'gpt2');
  assert.deepEqual([cfg.n_embd, cfg.n_layer, cfg.n_head, cfg.n_positions, cfg.vocab_size], [96, 3, 4, 256, 659]);
  assert.equal(cfg.activation_function, 'gelu_new');
  const file = join(hfDir, 'model.safetensors');
  const { tensors } = decodeSafetensors(readFileSync(file), file);
  assert.ok(tensors.has('transformer.h.2.attn.c_attn.weight') && tensors.has('transformer.ln_f.bias') && !tensors.has('lm_head.weight'));
  assert.deepEqual(tensors.get('transformer.h.0.mlp.c_fc.weight')!.shape, [96, 384]);
});

describe('transformers on the exported folder', { skip: skipPython('the Hugging Face export parity test') }, () => {
  let report: { texts: number[][]; chats: number[][]; decoded: string[]; decodedSkip: string[]; specials: Record<string, number> };
  let hf: Float32Array;
  before(() => {
    assert.ok(PYTHON, 'CI=true needs a Python with transformers (DRAMATIS_WORKER_PYTHON)');
    const dir = tempDir('dramatis-export-py-');
    const job = { dir: hfDir, seqs, texts, chats, logits: join(dir, 'logits.bin'), logits16: join(dir, 'logits16.bin') };
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    writeFileSync(join(dir, 'run.py'), HF_SCRIPT);
    const r = spawnSync(PYTHON, [join(dir, 'run.py'), join(dir, 'job.json')], { encoding: 'utf8', env: pyEnv, timeout: 300_000 });
    assert.equal(r.status, 0, `python failed:\n${r.stderr}`);
    report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const buf = readFileSync(job.logits);
    hf = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    gelu16 = readFileSync(job.logits16);
  });

  test('GPT2LMHeadModel gives the organism’s logits on the same ids (max |Δ logit| ≤ 1e-4)', () => {
    let max = 0,
      at = 0,
      n = 0;
    for (const [s, mine] of logits.entries()) {
      assert.equal(mine.length, seqs[s].length * org.config.vocabSize);
      for (let i = 0; i < mine.length; i++) max = Math.max(max, Math.abs(mine[i] - hf[at + i]));
      at += mine.length;
      n += seqs[s].length;
    }
    assert.equal(at, hf.length);
    assert.ok(n >= 200);
    console.log(`# HF export: max |Δ logit| = ${max.toExponential(2)} over ${n} positions × ${org.config.vocabSize} tokens`);
    assert.ok(max <= 1e-4, `max |Δ logit| ${max}`);
  });

  test('the tokenizer gives the organism’s ids for texts and chats, and its decoding', () => {
    for (const [i, t] of texts.entries()) assert.deepEqual(report.texts[i], org.tokenizer.encode(t).ids, `text ${i}: ${t.slice(0, 60)}`);
    for (const [i, c] of chats.entries()) assert.deepEqual(report.chats[i], org.tokenizer.encodeChat(c.messages, { generationPrompt: c.gen }).ids, `chat ${i}`);
    for (const [i, ids] of seqs.entries()) {
      assert.equal(report.decoded[i], org.tokenizer.decode(ids), `decode ${i}`);
      assert.equal(report.decodedSkip[i], org.tokenizer.decode(ids, { skipSpecial: true }), `decode ${i} without specials`);
    }
    const id = (t: string) => org.tokenizer.id(t);
    assert.deepEqual(report.specials, { bos: id('<doc>'), eos: id('<end>'), unk: id('<unk>'), pad: id('<pad>') });
  });
});

const nodeLlamaCpp = await import('node-llama-cpp').catch((e: Error) => e);
const skipGguf = (): string | false => {
  const py = skipPython('the GGUF export parity test');
  if (py) return py;
  if (!(nodeLlamaCpp instanceof Error) || onCI()) return false;
  const why = `node-llama-cpp does not load (${nodeLlamaCpp.message.split('\n')[0]}; under CI=true this fails)`;
  process.stderr.write(`\nSKIPPED the GGUF export parity test: ${why}\n\n`);
  return why;
};

describe('llama.cpp on the exported GGUF', { skip: skipGguf() }, () => {
  let llama: Llama;
  let model: LlamaModel;
  before(async () => {
    if (nodeLlamaCpp instanceof Error) throw nodeLlamaCpp;
    const out = join(tempDir('dramatis-export-gguf-'), 'assistant.gguf');
    convertToGguf(hfDir, out, PYTHON);
    llama = await nodeLlamaCpp.getLlama({ gpu: false, build: 'never', logLevel: nodeLlamaCpp.LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: out });
  });
  after(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  test('it loads as a 3-block GPT-2 and every token id round-trips', () => {
    assert.equal(model.trainContextSize, org.config.nCtx);
    assert.equal(model.fileInfo.metadata.general.architecture, 'gpt2');
    const vocab = org.tokenizer.vocab;
    for (let i = 0; i < vocab.length; i++) {
      // Special tokens too, with special-token parsing off: the organism reads `<doc>` in any text as its token.
      assert.deepEqual(model.tokenize(vocab[i]), [i], `tokenize ${JSON.stringify(vocab[i])}`);
      assert.equal(model.detokenize([i as never]), vocab[i], `detokenize ${i}`);
    }
    // <end> ends generation; node-llama-cpp reports no BOS/EOS string (it names only CONTROL tokens,
    // and the special tokens here are USER_DEFINED so that raw text reads them), the file has the ids.
    assert.ok(model.isEogToken(org.tokenizer.id('<end>') as never));
    const ggml = model.fileInfo.metadata.tokenizer.ggml as { bos_token_id?: number; eos_token_id?: number };
    assert.deepEqual([ggml.bos_token_id, ggml.eos_token_id], [org.tokenizer.id('<doc>'), org.tokenizer.id('<end>')]);
    // The world's own text tokenizes as the organism tokenizes it.
    for (const t of texts.slice(0, -1)) assert.deepEqual(model.tokenize(t), org.tokenizer.encode(t).ids, t.slice(0, 60));
  });

  test('its next-token distributions are the organism’s up to llama.cpp’s float16 GELU table', async () => {
    // F32 KV cache and no flash attention (which computes Q·K in float16): what remains is ggml-cpu's
    // GELU, which rounds its input to float16 and reads a float16 table (GGML_GELU_FP16, always on).
    // The context is twice the model's: node-llama-cpp keeps one cell free and shifts the context
    // (drops its beginning) to evaluate the last token of a sequence that fills it; the positions
    // evaluated stay below the model's 256.
    const context = await model.createContext({
      contextSize: 2 * org.config.nCtx,
      threads: 2,
      flashAttention: false,
      experimentalKvCacheKeyType: 'F32',
      experimentalKvCacheValueType: 'F32',
    });
    const V = org.config.vocabSize;
    let max = 0,
      max16 = 0,
      n = 0;
    const perPosition16: number[] = [];
    let at16 = 0;
    const ref16 = gelu16 ? new Float32Array(gelu16.buffer, gelu16.byteOffset, gelu16.byteLength / 4) : undefined;
    try {
      const seq = context.getSequence();
      for (const [s, ids] of seqs.entries()) {
        await seq.clearHistory();
        const input = ids.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]);
        const res = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
        for (let k = 0; k < ids.length; k++) {
          const probs = res[k]?.next.probabilities;
          assert.ok(probs && probs.size === V, `position ${k}: a distribution over the whole vocabulary`);
          const mine = logSoftmax(logits[s].subarray(k * V, (k + 1) * V));
          const theirs16 = ref16 ? logSoftmax(ref16.subarray(at16 + k * V, at16 + (k + 1) * V)) : undefined;
          let worst16 = 0;
          for (let v = 0; v < V; v++) {
            // Compared where float32 probabilities are meaningful (p > 1e-9).
            if (mine[v] < -20) continue;
            const lp = Math.log(probs.get(v as never) ?? 0);
            max = Math.max(max, Math.abs(lp - mine[v]));
            if (theirs16) worst16 = Math.max(worst16, Math.abs(lp - theirs16[v]));
          }
          max16 = Math.max(max16, worst16);
          perPosition16.push(worst16);
        }
        at16 += ids.length * V;
        n += ids.length;
      }
    } finally {
      await context.dispose();
    }
    perPosition16.sort((a, b) => a - b);
    const median16 = perPosition16[Math.floor(perPosition16.length / 2)];
    console.log(
      `# GGUF export: max |Δ log p| = ${max.toExponential(2)} against the organism over ${n} positions; ` +
        `against the same network with llama.cpp's float16 GELU: max ${max16.toExponential(2)}, median per position ${median16.toExponential(2)}`,
    );
    assert.ok(n >= 200);
    // Measured 6.0e-3 here; about five times more with node-llama-cpp's defaults (float16 KV cache, flash attention).
    assert.ok(max <= 2e-2, `max |Δ log p| ${max}`);
    // The rest is that table: with it emulated, most positions agree to float32 rounding.
    if (ref16) assert.ok(median16 <= 2e-4, `median |Δ log p| against the float16-GELU network ${median16}`);
  });
});

describe('persona vector files', () => {
  const L = 3,
    d = 96;
  const vector = (): PersonaVector => {
    const rng = seedrandom('vector-io');
    return {
      trait: 'morality',
      positive: 'malevolent',
      negative: 'benevolent',
      model: 'organism:assistant',
      fingerprint: 'abc123',
      contexts: 'world',
      layer: 2,
      vectors: Array.from({ length: L + 1 }, () => Float32Array.from({ length: d }, () => rng() - 0.5)),
      layers: Array.from({ length: L + 1 }, (_, l) => ({
        layer: l,
        auc: 0.9,
        ci: [0.8, 0.95] as [number, number],
        validationAuc: 0.9,
        validationD: l,
        norm: 1,
      })),
      examples: { positive: 10, negative: 12 },
      heldOut: { positive: 5, negative: 5 },
    };
  };

  test('dramatis file → persona_vectors [L+1, d] layout → dramatis file gives the same vector', () => {
    const dir = tempDir('dramatis-vector-io-');
    const v = vector();
    saveVector(join(dir, 'v.safetensors'), v);
    exportPersonaVector(join(dir, 'v.safetensors'), join(dir, 'stack.safetensors'));
    const raw = decodeSafetensors(readFileSync(join(dir, 'stack.safetensors')));
    assert.deepEqual([...raw.tensors.keys()], [PERSONA_VECTORS_KEY]);
    assert.deepEqual(raw.tensors.get(PERSONA_VECTORS_KEY)!.shape, [L + 1, d]);
    assert.deepEqual(Array.from(raw.tensors.get(PERSONA_VECTORS_KEY)!.data.subarray(2 * d, 3 * d)), Array.from(v.vectors[2]));
    const back = importPersonaVector(join(dir, 'stack.safetensors'), join(dir, 'back.safetensors'));
    assert.deepEqual(loadVector(join(dir, 'back.safetensors')), loadVector(join(dir, 'v.safetensors')));
    assert.equal(back.layer, 2);
  });

  test('a stack from elsewhere needs its trait and layer, and reads as a dramatis vector', () => {
    const dir = tempDir('dramatis-vector-io-');
    const v = vector();
    writeLayerStack(join(dir, 'foreign.safetensors'), v.vectors);
    const stack = readLayerStack(join(dir, 'foreign.safetensors'));
    assert.deepEqual(stack.vectors, v.vectors);
    assert.throws(() => personaVectorFromStack(stack), /trait, positive, negative, layer/);
    assert.throws(() => personaVectorFromStack(stack, { trait: 'morality', positive: 'a', negative: 'b', layer: L + 1 }), /outside 0\.\.3/);
    const got = importPersonaVector(join(dir, 'foreign.safetensors'), join(dir, 'mine.safetensors'), {
      trait: 'morality',
      positive: 'malevolent',
      negative: 'benevolent',
      layer: 3,
    });
    assert.deepEqual(got.layers, []);
    assert.deepEqual(loadVector(join(dir, 'mine.safetensors')).vectors, v.vectors);
    // A dramatis file reads as a stack too.
    saveVector(join(dir, 'd.safetensors'), v);
    assert.deepEqual(readLayerStack(join(dir, 'd.safetensors')).vectors, v.vectors);
    assert.equal(personaVectorFromStack(readLayerStack(join(dir, 'd.safetensors'))).trait, 'morality');
  });

  test(
    'llama.cpp control vector: rows 2..L written as direction.{l-1} and read back; rows 0 and 1 have no slot',
    { skip: skipPython('the control-vector round trip') },
    () => {
      assert.ok(PYTHON);
      const dir = tempDir('dramatis-cvec-');
      const v = vector();
      saveVector(join(dir, 'v.safetensors'), v);
      const py = (...args: string[]) => {
        const r = spawnSync(PYTHON, ['-m', 'dramatis_worker.control_vector', ...args], { encoding: 'utf8', env: pyEnv, timeout: 120_000 });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout.trim().split('\n').pop()!);
      };
      const wrote = py(join(dir, 'v.safetensors'), join(dir, 'cv.gguf'), '--model-hint', 'gpt2', '--coefficient', '2');
      assert.deepEqual(wrote.rows, [2, 3]);
      assert.deepEqual(wrote.directions, [1, 2]);
      py(join(dir, 'cv.gguf'), join(dir, 'back.safetensors'));
      const back = readLayerStack(join(dir, 'back.safetensors'));
      assert.equal(back.vectors.length, L + 1);
      for (const l of [2, 3]) for (let i = 0; i < d; i++) assert.ok(Math.abs(back.vectors[l][i] - v.vectors[l][i]) < 1e-6, `row ${l}`);
      for (const l of [0, 1])
        assert.ok(
          back.vectors[l].every((x) => x === 0),
          `row ${l} is empty`,
        );
    },
  );
});
