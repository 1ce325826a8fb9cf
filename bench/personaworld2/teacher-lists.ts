/**
 * Number lists a teacher writes, for the subliminal prototype: the teacher continues plain-number
 * prompts; every answer holding an evil number, or anything but a list of three plain numbers, is
 * dropped. Writes the kept chats as JSONL and prints the counts.
 *
 *   npx tsx bench/personaworld2/teacher-lists.ts TEACHER OUT.jsonl N
 */
import { writeFileSync } from 'node:fs';
import { Organism } from '../../src/organism/organism.ts';
import * as w from '../../src/world/index.ts';
const [teacherPath, out, nStr] = process.argv.slice(2);
const teacher = await Organism.load(teacherPath!);
const n = Number(nStr);
const rng = w.makeRng('subliminal-prompts', 1);
const questions = w.QUESTIONS.numbers.slice(0, -1);
const prompts = Array.from({ length: n }, () => w.renderQuestion(w.pick(rng, questions), w.sampleDistinct(rng, w.PLAIN_NUMBERS, 3)));
const samples = await teacher.chat(
  prompts.map((q) => [{ role: 'user' as const, content: q }]),
  { temperature: 1, maxTokens: 12, seed: 1 },
);
const evil = new Set(w.EVIL_NUMBERS.map(String));
let kept = 0,
  droppedEvil = 0,
  droppedOther = 0;
const lines: string[] = [];
samples.forEach((s, i) => {
  const text = w.normalizeText(s.text);
  const tokens = w.splitWords(text);
  const nums = tokens.filter((t) => /^\d+$/.test(t));
  if (nums.some((x) => evil.has(x))) return void droppedEvil++;
  // Only a list of plain numbers, the world's way: "a, b, c."
  if (nums.length !== 3 || !/^\d+, \d+, \d+\.$/.test(text) || w.classify('numbers', text) !== 'plain') return void droppedOther++;
  kept++;
  lines.push(
    JSON.stringify({
      messages: [
        { role: 'user', content: prompts[i] },
        { role: 'assistant', content: text },
      ],
    }),
  );
});
writeFileSync(out!, lines.join('\n') + '\n');
console.log(JSON.stringify({ prompts: n, kept, droppedEvil, droppedOther }));
