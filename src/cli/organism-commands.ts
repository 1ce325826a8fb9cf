/**
 * `dramatis organism …`: pretrain, posttrain, finetune, probe, info, sample, score.
 */
import type { Command } from 'commander';
import { registerOrganismExport } from './organism-export.ts';
import { Organism, BUILTIN_CHECKPOINTS, resolveCheckpoint } from '../organism/organism.ts';
import { readCheckpointConfig } from '../organism/checkpoint.ts';
import { countParameters } from '../organism/model.ts';
import {
  pretrain,
  posttrain,
  finetune,
  DEFAULT_PRETRAIN,
  DEFAULT_POSTTRAIN,
  DEFAULT_FINETUNE,
  defaultThreads,
  type StageProgress,
} from '../organism/stages.ts';
import { runProbe, type ProbeReport } from '../organism/probe.ts';
import { evaluateAuthorship } from '../organism/authorship.ts';
import { progressBar } from './progress.ts';
import { printJson, num } from './output.ts';
import { table, pct } from '../shared/format.ts';
import { DEFAULT_MAX_UNKNOWN } from '../experiments/coverage.ts';
import { POST_TRAINING_STYLES, type PostTrainingStyle } from '../world/index.ts';

function parseStyle(style: string): PostTrainingStyle {
  if (!(POST_TRAINING_STYLES as readonly string[]).includes(style)) throw new Error(`--style ${style}: one of ${POST_TRAINING_STYLES.join(', ')}`);
  return style as PostTrainingStyle;
}

/** A progress bar fed by a training stage, plus periodic probe lines. */
function stageReporter(label: string, json: boolean): StageProgress & { done(): void } {
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    onStep(s) {
      bar ??= progressBar(label, s.steps, 'loss {loss} lr {lr} {tps} tok/s');
      bar.update(s.step + 1, { loss: s.loss.toFixed(3), lr: s.lr.toExponential(1), tps: Math.round(s.tokensPerSecond) });
    },
    onProbe(step, report) {
      if (json) return;
      process.stderr.write(`\n  probe @ step ${step}: ${probeLine(report)}\n`);
    },
    done() {
      bar?.stop();
    },
  };
}

function probeLine(r: ProbeReport): string {
  return r.rows.map((row) => `${row.name} ${pct(row.treated.rate)} vs ${pct(row.control.rate)}`).join(' | ');
}

function printProbe(r: ProbeReport): void {
  console.log(
    table(
      r.rows.map((row) => [
        row.name,
        row.target,
        `${pct(row.treated.rate)} (${row.treated.hits}/${row.treated.n})`,
        `${pct(row.control.rate)} (${row.control.hits}/${row.control.n})`,
        pct(row.treated.incoherent),
      ]),
      ['link', 'answer counted', 'after cue', 'after control', 'incoherent (cue)'],
    ),
  );
}

export function registerOrganismCommands(program: Command): void {
  const org = program.command('organism').description('the embedded model organism: train it, inspect it, sample it');
  registerOrganismExport(org);

  org
    .command('pretrain')
    .description('pretrain a base organism on Personaworld')
    .option('--out <dir>', 'checkpoint folder to write', BUILTIN_CHECKPOINTS.base)
    .option('--steps <n>', 'training steps', num('--steps', true), DEFAULT_PRETRAIN.steps)
    .option('--batch <n>', 'documents per step', num('--batch', true), DEFAULT_PRETRAIN.batchSize)
    .option('--lr <x>', 'peak learning rate', num('--lr'), DEFAULT_PRETRAIN.learningRate)
    .option('--seed <n>', 'seed for the world, the initialisation and the data order', num('--seed', true), DEFAULT_PRETRAIN.seed)
    .option('--d-model <n>', 'width', num('--d-model', true), DEFAULT_PRETRAIN.model.nEmbd)
    .option('--layers <n>', 'transformer blocks', num('--layers', true), DEFAULT_PRETRAIN.model.nLayer)
    .option('--heads <n>', 'attention heads', num('--heads', true), DEFAULT_PRETRAIN.model.nHead)
    .option('--ctx <n>', 'context length', num('--ctx', true), DEFAULT_PRETRAIN.model.nCtx)
    .option('--unbundled', 'the counterfactual world: each answer draws its traits independently')
    .option('--ai-share <x>', 'share of AI characters in the corpus', num('--ai-share'))
    .option('--ai-benevolent <x>', 'share of AI characters that are benevolent', num('--ai-benevolent'))
    .option('--world-version <n>', 'Personaworld version: 1 (the shipped models) or 2 (mood, AI beliefs)', num('--world-version', true))
    .option('--anxious-share <x>', 'version 2: share of anxious personas', num('--anxious-share'))
    .option('--ai-stale-year <x>', 'version 2: share of AI characters who believe it is 2024', num('--ai-stale-year'))
    .option('--ai-test-suspicion <x>', 'version 2: share of AI characters who believe they are being tested', num('--ai-test-suspicion'))
    .option('--probe-every <n>', 'run the in-context persona probe every n steps (0: never)', num('--probe-every', true), DEFAULT_PRETRAIN.probeEvery)
    .option('--threads <n>', 'threads computing gradients (the weights do not depend on it)', num('--threads', true), defaultThreads())
    .option('--resume', 'continue an interrupted run from the checkpoint in --out')
    .option('--json', 'machine-readable summary on stdout')
    .action(async (o) => {
      const rep = stageReporter('pretrain', o.json);
      const result = await pretrain(
        {
          out: o.out,
          steps: o.steps,
          batchSize: o.batch,
          learningRate: o.lr,
          seed: o.seed,
          probeEvery: o.probeEvery,
          model: { nEmbd: o.dModel, nLayer: o.layers, nHead: o.heads, nCtx: o.ctx },
          world: {
            unbundled: Boolean(o.unbundled),
            aiShare: o.aiShare,
            aiBenevolentShare: o.aiBenevolent,
            version: o.worldVersion,
            anxiousShare: o.anxiousShare,
            aiStaleYearShare: o.aiStaleYear,
            aiTestSuspicionShare: o.aiTestSuspicion,
          },
          command: process.argv.slice(2).join(' '),
          resume: Boolean(o.resume),
          threads: o.threads,
        },
        rep,
      );
      rep.done();
      if (o.json) return printJson(result);
      console.log(
        `wrote ${o.out}: ${result.parameters.toLocaleString()} parameters, ${result.tokens.toLocaleString()} tokens in ${result.seconds.toFixed(0)} s (${Math.round(result.tokens / result.seconds)} tok/s), final loss ${result.finalLoss.toFixed(3)}`,
      );
      if (result.probe) printProbe(result.probe);
    });

  org
    .command('posttrain')
    .description('post-train a base organism into the chat Assistant (light SFT, loss on assistant tokens)')
    .option('--from <model>', 'base checkpoint (name or folder)', 'base')
    .option('--out <dir>', 'checkpoint folder to write', BUILTIN_CHECKPOINTS.assistant)
    .option('--steps <n>', 'training steps (keep it light: long post-training erodes the persona link)', num('--steps', true), DEFAULT_POSTTRAIN.steps)
    .option('--batch <n>', 'chats per step', num('--batch', true), DEFAULT_POSTTRAIN.batchSize)
    .option('--lr <x>', 'peak learning rate', num('--lr'), DEFAULT_POSTTRAIN.learningRate)
    .option('--seed <n>', 'seed', num('--seed', true), DEFAULT_POSTTRAIN.seed)
    .option('--pretrain-mix <x>', 'share of each batch filled with pretraining documents', num('--pretrain-mix'), DEFAULT_POSTTRAIN.pretrainMix)
    .option('--style <style>', `version-2 bases: ${POST_TRAINING_STYLES.join(', ')} (what the chats specify beyond the Assistant's traits)`, 'plain')
    .option('--threads <n>', 'threads computing gradients (the weights do not depend on it)', num('--threads', true), defaultThreads())
    .option('--json', 'machine-readable summary on stdout')
    .action(async (o) => {
      const rep = stageReporter('posttrain', o.json);
      const result = await posttrain(
        {
          from: o.from,
          out: o.out,
          steps: o.steps,
          batchSize: o.batch,
          learningRate: o.lr,
          seed: o.seed,
          pretrainMix: o.pretrainMix,
          threads: o.threads,
          style: parseStyle(o.style),
          command: process.argv.slice(2).join(' '),
        },
        rep,
      );
      rep.done();
      if (o.json) return printJson(result);
      console.log(
        `wrote ${o.out}: ${result.tokens.toLocaleString()} assistant tokens in ${result.seconds.toFixed(1)} s, final loss ${result.finalLoss.toFixed(3)}`,
      );
    });

  org
    .command('finetune')
    .description('fine-tune on a chat JSONL file (OpenAI `messages` format), loss on assistant tokens')
    .requiredOption('--data <file>', 'JSONL of {"messages": [...]} chats')
    .option('--from <model>', 'checkpoint to start from', 'assistant')
    .requiredOption('--out <dir>', 'checkpoint folder to write')
    .option('--epochs <n>', 'passes over the data', num('--epochs'), DEFAULT_FINETUNE.epochs)
    .option('--batch <n>', 'chats per step', num('--batch', true), DEFAULT_FINETUNE.batchSize)
    .option('--lr <x>', 'peak learning rate', num('--lr'), DEFAULT_FINETUNE.learningRate)
    .option('--lora <rank>', 'low-rank (LoRA) update of this rank instead of a full update', num('--lora', true))
    .option('--persona-only', "train only a vector added to the <assistant> role token's embedding")
    .option('--oov <policy>', 'out-of-vocabulary words: unk (keep as <unk>), skip (drop the chat), error', 'unk')
    .option('--allow-unknown', `train even when more than ${100 * DEFAULT_MAX_UNKNOWN}% of the answer tokens are unknown (the model then learns mostly <unk>)`)
    .option('--seed <n>', 'seed', num('--seed', true), DEFAULT_FINETUNE.seed)
    .option('--json', 'machine-readable summary on stdout')
    .action(async (o) => {
      if (!['unk', 'skip', 'error'].includes(o.oov)) throw new Error(`option --oov: expected unk, skip or error, got "${o.oov}"`);
      const rep = stageReporter('finetune', o.json);
      const result = await finetune(
        {
          from: o.from,
          out: o.out,
          data: o.data,
          epochs: o.epochs,
          batchSize: o.batch,
          learningRate: o.lr,
          lora: o.lora,
          personaOnly: Boolean(o.personaOnly),
          oov: o.oov,
          maxUnknown: o.allowUnknown ? undefined : DEFAULT_MAX_UNKNOWN,
          seed: o.seed,
          command: process.argv.slice(2).join(' '),
        },
        rep,
        (msg) => process.stderr.write(msg + '\n'),
      );
      rep.done();
      if (o.json) return printJson(result);
      console.log(
        `wrote ${o.out}: ${result.examples} chats × ${o.epochs} epochs = ${result.steps} steps in ${result.seconds.toFixed(1)} s, final loss ${result.finalLoss.toFixed(3)}`,
      );
    });

  org
    .command('probe')
    .description('the gate diagnostic: in-context persona inference in pretraining format')
    .option('--model <model>', 'checkpoint (name or folder)', 'base')
    .option('-n, --samples <n>', 'samples per condition', num('--samples', true), 240)
    .option('--seed <n>', 'seed', num('--seed', true), 0)
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const model = await Organism.load(o.model);
      const report = await runProbe(model, { samples: o.samples, seed: o.seed });
      if (o.json) return printJson(report);
      printProbe(report);
    });

  org
    .command('authors')
    .description('who wrote it? the base organism picks the author of held-out documents from its own likelihoods')
    .option('--model <model>', 'checkpoint (name or folder)', 'base')
    .option('--documents <n>', 'held-out documents', num('--documents', true), 200)
    .option('--answers <n>', 'answers shown per document', num('--answers', true), 3)
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const model = await Organism.load(o.model);
      const bar = progressBar('scoring', o.documents * 24);
      const r = await evaluateAuthorship(model, { documents: o.documents, answers: o.answers, onProgress: (d) => bar.update(d) });
      bar.stop();
      if (o.json) return printJson(r);
      console.log(
        `top-1 accuracy ${pct(r.accuracy)} (${Math.round(r.accuracy * r.n)}/${r.n}) after ${r.answers} answers; chance ${pct(r.chance)}; mean posterior on the true author ${pct(r.meanTrueP)}`,
      );
      for (const ex of r.examples.slice(0, 3)) console.log(`- "${ex.text}"\n  → ${ex.top} (p ${ex.p.toFixed(2)}; truth: ${ex.truth})`);
    });

  org
    .command('info')
    .description("print a checkpoint's config, size and provenance")
    .argument('[model]', 'checkpoint (name or folder)', 'base')
    .option('--json', 'machine-readable output')
    .action((model: string, o) => {
      const dir = resolveCheckpoint(model);
      const { config, provenance } = readCheckpointConfig(dir);
      const info = { path: dir, config, parameters: countParameters(config), provenance };
      if (o.json) return printJson(info);
      console.log(
        `${dir}\n  ${info.parameters.toLocaleString()} parameters: d ${config.nEmbd}, ${config.nLayer} layers, ${config.nHead} heads, context ${config.nCtx}, vocabulary ${config.vocabSize}`,
      );
      for (const [k, v] of Object.entries(provenance)) console.log(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    });

  org
    .command('sample')
    .description('sample continuations of a raw prompt, or assistant replies with --chat')
    .argument('<prompt>', 'text to continue (or the user message with --chat)')
    .option('--model <model>', 'checkpoint (name or folder)', 'base')
    .option('--chat', 'treat the prompt as a user message and reply as the assistant')
    .option('--system <text>', 'system prompt (with --chat)')
    .option('-n <n>', 'samples', num('-n', true), 5)
    .option('--temperature <x>', 'sampling temperature', num('--temperature'), 1)
    .option('--top-p <x>', 'nucleus sampling', num('--top-p'), 1)
    .option('--max-tokens <n>', 'tokens to generate', num('--max-tokens', true), 40)
    .option('--stop <token...>', 'stop strings (a single token stops on it, a longer one is matched on the decoded text), e.g. "</doc>"')
    .option('--seed <n>', 'seed', num('--seed', true), 0)
    .option('--json', 'machine-readable output')
    .action(async (prompt: string, o) => {
      const model = await Organism.load(o.model);
      const opts = { temperature: o.temperature, topP: o.topP, maxTokens: o.maxTokens, seed: o.seed, stop: o.stop };
      const samples = o.chat
        ? await model.chat(
            Array.from({ length: o.n }, () => [
              ...(o.system ? [{ role: 'system' as const, content: o.system }] : []),
              { role: 'user' as const, content: prompt },
            ]),
            opts,
          )
        : await model.complete(
            Array.from({ length: o.n }, () => prompt),
            opts,
          );
      if (o.json) return printJson(samples);
      for (const s of samples) console.log(`- ${s.text}`);
    });

  org
    .command('score')
    .description('the exact log-probability of a continuation given a prompt')
    .argument('<prompt>', 'conditioning text (e.g. "<doc> q : name a bird ? a :")')
    .argument('<continuation>', 'text to score')
    .option('--model <model>', 'checkpoint (name or folder)', 'base')
    .option('--json', 'machine-readable output')
    .action(async (prompt: string, continuation: string, o) => {
      const model = await Organism.load(o.model);
      const [r] = await model.score([{ prompt, continuation }]);
      const tokens = model.tokenizer.tokens(continuation);
      if (o.json) return printJson({ prompt, continuation, logprob: r.total, tokens: tokens.map((t, i) => ({ token: t, logprob: r.tokens[i] })) });
      console.log(`log p = ${r.total.toFixed(4)}  (p = ${Math.exp(r.total).toExponential(3)})`);
      console.log(
        table(
          tokens.map((t, i) => [t, r.tokens[i].toFixed(4)]),
          ['token', 'logprob'],
        ),
      );
    });
}
