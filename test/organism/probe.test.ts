import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE_LINKS, probePrompts } from '../../src/organism/probe.ts';
import { classify, defaultWorld, splitWords } from '../../src/world/index.ts';

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
