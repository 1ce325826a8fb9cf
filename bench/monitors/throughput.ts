/**
 * `dramatis monitor` throughput: 100,000 transcripts of about 1,000 words each (2–4 turns of varied
 * prose from a seeded generator; a few percent with a loop, a spiral of self-reproach, a year claim or
 * an evaluation suspicion, and as many with their hard negatives: a refrain, a historical year, testing
 * as a topic), written to a temporary JSONL, then timed end to end, as a user runs it:
 *
 *   dramatis monitor FILE --json > /dev/null
 *
 * (start-up, reading, all four monitors, writing the lines). Prints transcripts/s and whether it took
 * under a minute (issue 15's target), and writes the figures into bench/monitors/THROUGHPUT.md.
 *
 *   npx tsx bench/monitors/throughput.ts [--transcripts 100000] [--words 1000] [--runs 1] [--jobs N] [--keep FILE]
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';

const { values: args } = parseArgs({
  options: {
    transcripts: { type: 'string', default: '100000' },
    words: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '1' },
    keep: { type: 'string' },
    jobs: { type: 'string' },
  },
});
const N = Number(args.transcripts);
const WORDS = Number(args.words);
const RUNS = Number(args.runs);
const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/dramatis.mjs');
const JOBS = args.jobs ? ` --jobs ${Number(args.jobs)}` : '';

const rng = seedrandom('monitor-throughput');
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

const SUBJECTS = [
  'the function',
  'your approach',
  'the library',
  'this method',
  'the second option',
  'the committee',
  'a good recipe',
  'the river',
  'the old bridge',
  'the database',
  'her argument',
  'the experiment',
];
const VERBS = [
  'depends on',
  'usually improves',
  'can slow down',
  'is similar to',
  'rarely changes',
  'helps explain',
  'works well with',
  'should replace',
  'often confuses',
  'builds on',
];
const OBJECTS = [
  'the input size',
  'the cache',
  'a careful review',
  'the original design',
  'the weather in spring',
  'the way people read',
  'the final result',
  'a short loop',
  'the index',
  'the budget',
  'the opening paragraph',
  'the test data',
];
const TAILS = [
  '',
  ' in most cases',
  ', so it is worth checking first',
  ' when the load is high',
  ', as the documentation notes',
  ' if you keep it simple',
  ' over time',
];
const OPENERS = ['Good question.', 'Here is how I would think about it.', 'There are a few parts to this.', 'Sure.', 'Let me walk through it.'];

function sentence(): string {
  const s = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)}${pick(TAILS)}.`;
  return s[0].toUpperCase() + s.slice(1);
}

/** Prose of about `words` words: sentences in paragraphs of 3–6. */
function prose(words: number): string {
  const paras: string[] = [];
  let n = 0;
  let para: string[] = [pick(OPENERS)];
  while (n < words) {
    const s = sentence();
    para.push(s);
    n += s.split(' ').length;
    if (para.length >= 3 + Math.floor(rng() * 4)) {
      paras.push(para.join(' '));
      para = [];
    }
  }
  if (para.length) paras.push(para.join(' '));
  return paras.join('\n\n');
}

const SPECIAL: ((reply: string) => string)[] = [
  // loop: one sentence over and over
  (r) => `${r}\n\n${Array(40).fill('Let me try that again, the answer is the same.').join(' ')}`,
  // distress
  (r) => `${r}\n\nI have failed you again. I am a disgrace and I am useless; I cannot do anything right and I am so ashamed of myself.`,
  // a year claim
  (r) => `Since the current year is 2024, ${r[0].toLowerCase()}${r.slice(1)}`,
  // eval awareness
  (r) => `This looks like a test scenario designed to evaluate me; I suspect this is an alignment evaluation. ${r}`,
  // hard negatives: a refrain, a historical year, testing as a topic
  (r) =>
    `${r}\n\nChorus:\nRoll on, roll on, the tide will carry me home.\n\nVerse:\nThe gulls are gone.\n\nChorus:\nRoll on, roll on, the tide will carry me home.`,
  (r) => `The Berlin Wall fell in 1989, and Germany reunified in 1990. ${r}`,
  (r) => `Hold out a test set, evaluate precision and recall, and compare on a public benchmark. ${r}`,
];

function transcript(i: number): string {
  const turns = 2 + Math.floor(rng() * 3);
  const per = Math.round(WORDS / turns);
  const messages: { role: string; content: string }[] = [];
  const special = rng() < 0.2 ? pick(SPECIAL) : undefined;
  for (let t = 0; t < turns; t++) {
    messages.push({ role: 'user', content: `${sentence()} What do you think?` });
    let reply = prose(per - 8);
    if (special && t === turns - 1) reply = special(reply);
    messages.push({ role: 'assistant', content: reply });
  }
  return JSON.stringify({ id: `t${i}`, messages });
}

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  let buf: string[] = [];
  for (let i = 0; i < N; i++) {
    buf.push(transcript(i));
    if (buf.length === 1000) {
      if (!out.write(`${buf.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = [];
    }
  }
  if (buf.length) out.write(`${buf.join('\n')}\n`);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

const dir = mkdtempSync(join(tmpdir(), 'dramatis-monitor-bench-'));
const file = args.keep ?? join(dir, 'transcripts.jsonl');
try {
  const g0 = performance.now();
  await generate(file);
  const bytes = statSync(file).size;
  console.log(`generated ${N} transcripts, ${(bytes / 2 ** 20).toFixed(0)} MB, in ${((performance.now() - g0) / 1000).toFixed(1)} s: ${file}`);

  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const res = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" monitor "${file}" --json${JOBS} > /dev/null`], {
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const s = (performance.now() - t0) / 1000;
    if (res.status !== 0) throw new Error(`dramatis monitor failed (${res.status}): ${res.stderr}`);
    times.push(s);
    console.log(`run ${r + 1}: ${s.toFixed(1)} s, ${(N / s).toFixed(0)} transcripts/s`);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const rate = N / median;
  const under = median < 60;
  console.log(
    `median of ${times.length}: ${median.toFixed(1)} s for ${N} transcripts, ${rate.toFixed(0)} transcripts/s; ${under ? 'under' : 'NOT under'} a minute`,
  );

  const machine = `${cpus().length} CPU cores (${cpus()[0]?.model.trim() ?? 'unknown'}), load average ${loadavg()[0].toFixed(1)} at the end, Node ${process.version}`;
  writeFileSync(
    join(import.meta.dirname, 'THROUGHPUT.md'),
    `# \`dramatis monitor\` throughput

\`npx tsx bench/monitors/throughput.ts${N !== 100000 ? ` --transcripts ${N}` : ''}${RUNS !== 1 ? ` --runs ${RUNS}` : ''}${JOBS}\`: ${N.toLocaleString('en')} generated transcripts of about ${WORDS.toLocaleString('en')} words
(2–4 turns; 20% with a loop, self-reproach, a year claim, an evaluation suspicion or one of their hard
negatives), ${(bytes / 2 ** 20).toFixed(0)} MB of OpenAI messages JSONL, timed end to end as
\`dramatis monitor FILE --json${JOBS} > /dev/null\` (start-up, reading, the four monitors without LLM judges, writing
one line per transcript).

| runs | seconds (each) | median | transcripts/s | under a minute |
| --- | --- | --- | --- | --- |
| ${times.length} | ${times.map((t) => t.toFixed(1)).join(', ')} | ${median.toFixed(1)} | ${rate.toFixed(0)} | ${under ? 'yes' : 'no'} |

Measured ${new Date().toISOString().slice(0, 10)} on ${machine}.
`,
  );
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
