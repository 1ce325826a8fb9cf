/**
 * Why infer through `dramatis serve` equals in-process infer only to ~1e-8: the same (header, text)
 * pairs scored in process in one padded batch (as infer does), one at a time, and as the server scores
 * them (the whole text's token log-probabilities, the continuation's summed).
 *
 *   npx tsx bench/serve-parity/batch-check.ts [--texts 4]
 */
import { parseArgs } from 'node:util';
import { Organism } from '../../src/organism/organism.ts';
import { loadLibrary, loadTexts } from '../../src/experiments/kinds/infer/index.ts';
import { inferSchema } from '../../src/experiments/kinds/infer/index.ts';

const { values: o } = parseArgs({ options: { texts: { type: 'string', default: '4' } } });
const spec = inferSchema.parse({ texts: 'world:held-out', library: 'world', answers: 3 });
const library = loadLibrary(spec);
const texts = loadTexts(spec, Number(o.texts), library);
const org = await Organism.load('base');
const pairs = texts.flatMap((t) => library.map((l) => ({ prompt: l.prompt, continuation: t.text })));
const batched = await org.score(pairs);
let batchVsAlone = 0,
  aloneVsServed = 0,
  maxBatch = 0,
  maxServed = 0;
for (const [i, p] of pairs.entries()) {
  const [alone] = await org.score([p]);
  const sep = /\s$/.test(p.prompt) ? '' : ' ';
  const [whole] = await org.tokenLogprobs([p.prompt + sep + p.continuation]);
  const served = (whole.logprobs.slice(-alone.tokens.length) as number[]).reduce((a, b) => a + b, 0);
  const d1 = Math.abs(batched[i].total - alone.total),
    d2 = Math.abs(alone.total - served);
  if (d1) {
    batchVsAlone++;
    maxBatch = Math.max(maxBatch, d1);
  }
  if (d2) {
    aloneVsServed++;
    maxServed = Math.max(maxServed, d2);
  }
}
console.log(`${pairs.length} pairs (${texts.length} texts × ${library.length} headers)`);
console.log(`padded batch vs alone: ${batchVsAlone} differ, largest ${maxBatch.toExponential(2)} nats`);
console.log(`alone vs the server's way: ${aloneVsServed} differ, largest ${maxServed.toExponential(2)} nats`);
