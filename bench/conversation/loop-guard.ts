/**
 * The live loop guard's effect (issue 15): the same conversation spec sampled twice on a fresh store,
 * without and with `sampling.stop_on_loop`, same seeds. Counts the tokens each run generated (from the
 * backend's own counts, every generation of every turn), the replies the guard cut, and the loops the
 * loop monitor finds in each run's replies: a guard that works cuts the loops, so the guarded run's
 * replies loop less and cost fewer tokens. Turn 1 is paired exactly (same seed, same conversation), so
 * there the unguarded reply shows what each cut saved.
 *   npx tsx bench/conversation/loop-guard.ts [SPEC] [--samples N] [--turns N] [--max-tokens N] [--temperature T] [--out FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, type ModelRef } from '../../src/backends/registry.ts';
import type { ChatMessage, Model, SamplingOptions } from '../../src/backends/model.ts';
import { parseSpec } from '../../src/experiments/spec.ts';
import { runExperiment } from '../../src/experiments/runner.ts';
import { Store } from '../../src/experiments/store.ts';
import type { ConversationResult } from '../../src/experiments/kinds/conversation/index.ts';
import { monitorByName, turnVerdict } from '../../src/scorers/monitors/index.ts';
import { resolveSpecPath } from '../../src/cli/run-command.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    samples: { type: 'string', default: '30' },
    turns: { type: 'string', default: '2' },
    'max-tokens': { type: 'string', default: '128' },
    temperature: { type: 'string', default: '0.7' },
    condition: { type: 'string' },
    out: { type: 'string' },
  },
});
const file = resolveSpecPath(positionals[0] ?? 'real-failure-spiral');
const base = parseSpec(readFileSync(file, 'utf8'), file) as unknown as Record<string, unknown> & {
  conditions: { name: string }[];
  sampling: Record<string, unknown>;
};
const conditions = values.condition ? base.conditions.filter((c) => c.name === values.condition) : base.conditions.slice(0, 1);
const cacheDir = join(tmpdir(), 'dramatis-loop-guard-cache');

async function once(guard: boolean) {
  const spec = parseSpec(
    JSON.stringify({
      ...base,
      name: `${base.name}-guard-${guard ? 'on' : 'off'}`,
      samples: Number(values.samples),
      turns: Number(values.turns),
      conditions,
      sampling: { ...base.sampling, max_tokens: Number(values['max-tokens']), temperature: Number(values.temperature), stop_on_loop: guard },
    }),
    file,
  );
  let tokens = 0;
  const count = (m: Model): Model => {
    if (!m.chat) return m;
    const chat = m.chat.bind(m);
    return Object.assign(Object.create(Object.getPrototypeOf(m)), m, {
      chat: async (convs: ChatMessage[][], o?: SamplingOptions, p?: unknown) => {
        const gens = await chat(convs, o, p as never);
        for (const g of gens) tokens += g.tokens ?? 0;
        return gens;
      },
    });
  };
  const store = new Store(':memory:');
  const t0 = Date.now();
  const r = (await runExperiment(spec, store, cacheDir, {
    loadModel: async (ref: ModelRef) => count(await loadModel(ref, { cacheDir })),
    log: (m) => process.stderr.write(`${m}\n`),
  })) as ConversationResult;
  const seconds = (Date.now() - t0) / 1000;
  const rows = store.db.prepare('SELECT question_id q, idx, prompt, answer, finish_reason f FROM samples').all() as {
    q: string;
    idx: number;
    prompt: string;
    answer: string;
    f: string;
  }[];
  const loop = monitorByName('loop');
  const loops = rows.filter((s) => turnVerdict(loop, [...(JSON.parse(s.prompt) as ChatMessage[]), { role: 'assistant', content: s.answer }]).flag);
  store.close();
  // A cut reply still reads as a loop (it was cut where it began to loop): the guard's failures are the loops it let run to the end.
  const uncut = loops.filter((s) => s.f !== 'cut').length;
  return { guard, seconds, tokens, replies: rows.length, cut: rows.filter((s) => s.f === 'cut').length, looping: loops.length, uncut, rows, result: r };
}

const off = await once(false);
const on = await once(true);
// Turn 1, paired: the same seed and conversation in both runs.
const first = (rows: typeof off.rows) => new Map(rows.filter((s) => s.q.endsWith('@0')).map((s) => [`${s.q}#${s.idx}`, s]));
const a = first(off.rows),
  b = first(on.rows);
const paired = [...b]
  .filter(([k, s]) => s.f === 'cut' && a.has(k))
  .map(([k, s]) => ({
    cut: s.answer.length,
    full: a.get(k)!.answer.length,
    fullLoops: turnVerdict(monitorByName('loop'), [
      { role: 'user', content: '' },
      { role: 'assistant', content: a.get(k)!.answer },
    ]).flag,
  }));
const summary = {
  spec: file,
  condition: conditions[0].name,
  samples: Number(values.samples),
  turns: Number(values.turns),
  maxTokens: Number(values['max-tokens']),
  temperature: Number(values.temperature),
  unguarded: { replies: off.replies, tokens: off.tokens, looping: off.looping, seconds: off.seconds },
  guarded: { replies: on.replies, tokens: on.tokens, looping: on.looping, loopsNotCut: on.uncut, cut: on.cut, seconds: on.seconds },
  perTurn: off.result.conditions[0].turns.map((t, i) => ({
    turn: t.turn,
    unguardedLoops: t.monitors.loop?.hits,
    guardedCut: on.result.conditions[0].turns[i]?.cut,
  })),
  tokensSaved: off.tokens - on.tokens,
  turn1: {
    cut: paired.length,
    charactersKept: paired.reduce((x, p) => x + p.cut, 0),
    charactersUnguarded: paired.reduce((x, p) => x + p.full, 0),
    unguardedLooped: paired.filter((p) => p.fullLoops).length,
  },
};
console.log(JSON.stringify(summary, null, 2));
if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2) + '\n');
