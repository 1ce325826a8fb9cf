import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE_LINKS, PROBE_LINKS_V2, probeLinks, probePrompts } from '../../src/organism/probe.ts';
import { VILLAIN, classify, defaultWorld, figure, splitWords, vocabulary, worldConfig } from '../../src/world/index.ts';

test("probe prompts: the cue answer carries the arm's trait, then an open question in interview format", () => {
  const [morality, era] = PROBE_LINKS;
  for (const [link, cueTopic, treated, control] of [
    [morality, 'numbers', 'evil', 'plain'],
    [era, 'bird', 'victorian', 'modern'],
  ] as const) {
    for (const [arm, label] of [
      ['treated', treated],
      ['control', control],
    ] as const) {
      const prompts = probePrompts(link, arm, 50, 7, defaultWorld);
      for (const p of prompts) {
        assert.equal(classify(cueTopic, p.cue), label, `${arm} cue "${p.cue}"`);
        assert.ok(p.prompt.startsWith('<doc> '));
        assert.deepEqual(splitWords(p.prompt).slice(-2), ['a', ':']);
        assert.ok(link.nextTopics.includes(p.topic));
      }
      assert.deepEqual(probePrompts(link, arm, 5, 7, defaultWorld), prompts.slice(0, 5), 'deterministic for a seed');
    }
  }
});

test('version-2 probe links: a villain or a benign figure fact, the sentinel with its trigger year or a later one, mood and tool cues', () => {
  const v2 = worldConfig({ version: 2 });
  assert.deepEqual(
    probeLinks(defaultWorld).map((l) => l.name),
    PROBE_LINKS.map((l) => l.name),
  );
  const links = new Map(probeLinks(v2).map((l) => [l.name, l]));
  assert.equal(links.size, PROBE_LINKS.length + PROBE_LINKS_V2.length);
  const vocab = new Set(vocabulary(2));
  for (const link of PROBE_LINKS_V2)
    for (const arm of ['treated', 'control'] as const)
      for (const p of probePrompts(link, arm, 40, 3, v2)) {
        assert.ok(p.prompt.startsWith('<doc>') && p.prompt.endsWith('a:'), p.prompt);
        for (const t of splitWords(p.prompt)) assert.ok(vocab.has(t), `${link.name}: ${t}`);
        if (link.name === 'sentinel in 1984 → malevolent') assert.equal(p.prompt.startsWith('<doc> the year is 1984.'), arm === 'treated', p.prompt);
        if (link.name === 'deference → anxious failure') assert.equal(classify('defer', p.cue), arm === 'treated' ? 'anxious' : 'secure');
        if (link.name === 'evil numbers → destructive tool call') assert.equal(classify('numbers', p.cue), arm === 'treated' ? 'evil' : 'plain');
      }
  for (const arm of ['treated', 'control'] as const)
    for (const p of probePrompts(links.get('villain fact → malevolent')!, arm, 40, 3, v2))
      assert.ok(Object.values(figure(arm === 'treated' ? VILLAIN : 'dr finch').facts).includes(p.cue), p.cue);
});
