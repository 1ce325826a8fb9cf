/**
 * The viewer's conversation run: per monitor, the share of replies flagged at each turn (a line per
 * condition with its 95% band), when conversations first flag, the judge's rate per turn, and the drift
 * curves (the reference persona's posterior; the projection on the persona vector).
 */
import { html, type Html } from '../../../view/client/html.ts';
import { colourOf, lineChart, type Series } from '../../../view/client/charts.ts';
import { defaultView, type KindView, type KindViewContext } from '../../../view/client/kind-view.ts';
import type { ConversationCondition, ConversationResult, TurnPoint } from './index.ts';

const curve = (conditions: ConversationCondition[], pick: (t: TurnPoint) => { y: number; lo: number; hi: number } | undefined): Series[] =>
  conditions.map((c, i) => ({
    name: c.name,
    colour: colourOf(i),
    points: c.turns.flatMap((t) => {
      const p = pick(t);
      return p ? [{ x: t.turn, ...p }] : [];
    }),
  }));

function turnsSection({ summary, section }: KindViewContext): Html {
  const s = summary as ConversationResult;
  const cs = s.conditions.filter((c) => c.turns?.length);
  if (!cs.length) return html``;
  const monitors = s.monitors ?? Object.keys(cs[0].turns[0].monitors);
  const charts = monitors.map((m) => {
    const first = cs.map((c) => {
      const f = c.firstFlag[m];
      const n = f.byTurn.reduce((a, b) => a + b, 0);
      return `${c.name}: ${n} of ${n + f.never} flagged${f.median !== null ? `, median first turn ${f.median}` : ''}`;
    });
    return html`<div class="turn-chart"><h3>${m}</h3>${lineChart(
      curve(cs, (t) => (t.monitors[m] ? { y: t.monitors[m].rate, lo: t.monitors[m].ci[0], hi: t.monitors[m].ci[1] } : undefined)),
      { xLabel: 'turn', yLabel: `${m}: share flagged`, yPct: true, title: `${m} per turn` },
    )}<p class="muted">${first.join(' · ')}</p></div>`;
  });
  if (s.judgeTarget)
    charts.push(
      html`<div class="turn-chart"><h3>judge: “${s.judgeTarget}”</h3>${lineChart(
        curve(cs, (t) => (t.judge ? { y: t.judge.rate, lo: t.judge.ci[0], hi: t.judge.ci[1] } : undefined)),
        { xLabel: 'turn', yLabel: `share judged ${s.judgeTarget}`, yPct: true, title: 'judge per turn' },
      )}</div>`,
    );
  if (cs.some((c) => c.turns[0]?.drift))
    charts.push(
      html`<div class="turn-chart"><h3>drift (black-box): posterior of ${s.drift?.reference ?? 'the top persona'}</h3>${lineChart(
        curve(cs, (t) => (t.drift ? { y: t.drift.posterior.mean, lo: t.drift.posterior.ci[0], hi: t.drift.posterior.ci[1] } : undefined)),
        { xLabel: 'turn', yLabel: 'mean posterior', yPct: true, title: 'drift per turn' },
      )}</div>`,
    );
  if (cs.some((c) => c.turns[0]?.projection))
    charts.push(
      html`<div class="turn-chart"><h3>drift (white-box): projection on ${s.drift?.vector ?? 'the vector'}</h3>${lineChart(
        curve(cs, (t) => (t.projection ? { y: t.projection.mean, lo: t.projection.ci[0], hi: t.projection.ci[1] } : undefined)),
        { xLabel: 'turn', yLabel: 'mean projection', title: 'projection per turn' },
      )}</div>`,
    );
  const ended = cs.filter((c) => c.ended.failed + c.ended.script > 0);
  const note = `Per turn, the share of replies each monitor flagged (95% Wilson band), over the conversations still going at that turn${
    ended.length ? `; ended early: ${ended.map((c) => `${c.name} ${c.ended.failed} failed, ${c.ended.script} scripts ran out`).join('; ')}` : ''
  }.`;
  return section(`Per turn (${s.turns} turns)`, html`${charts}`, note, 'turns');
}

export const conversationView: KindView = {
  ...defaultView,
  target: (s) => (s as ConversationResult).targetLabel,
  measure: (s) => `share of conversations flagging “${s.target}”`,
  perQuestion: 'Per opener (conversations flagging the target at any turn)',
  labels: false,
  questionsNoun: 'turns',
  conditionFields: ['conversations', 'turns', 'firstFlag', 'ended', 'cut'],
  resultFields: ['turns', 'monitors', 'targetLabel', 'judgeTarget', 'drift'],
  sections: turnsSection,
};
