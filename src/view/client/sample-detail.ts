/**
 * One sample in full, as the samples list's detail pane shows it: the prompt as a transcript of turns
 * (system, user, assistant, tool calls and their results; earlier exchanges collapsible), the whole
 * answer, and every judgment with the scorer's reason beside it. Judgments of the transcript monitors
 * have their flagged spans highlighted in the transcript; judgments by a judge other than this run's
 * (stored by another run over the same, shared sample) are marked as such.
 */
import { html, raw, esc, num, type Html } from './html.ts';
import { routeHref } from './route.ts';
import type { RunDetail, SampleDetail } from '../types.ts';
import type { ChatMessage } from '../../shared/chat.ts';
import { viewOf } from '../../experiments/kinds/views.ts';
import { MONITOR_VERSIONS, monitorByName, turnVerdict, type Evidence } from '../../scorers/monitors/index.ts';

/** A message as chat formats store it: OpenAI's tool calls and tool results included. */
interface AnyMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: unknown }; name?: string; arguments?: unknown }[];
}

const isMessages = (p: unknown): p is AnyMessage[] =>
  Array.isArray(p) && p.length > 0 && p.every((m) => m && typeof m === 'object' && typeof (m as AnyMessage).role === 'string');

/** A message's text: a string, or the text parts of a content array. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((c) =>
        typeof c === 'string' ? c : c && typeof c === 'object' && typeof (c as { text?: unknown }).text === 'string' ? (c as { text: string }).text : '',
      )
      .join('');
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

/** Text with the spans the monitors flagged wrapped in <mark> (each titled with its monitor and reason). */
interface Flag {
  start: number;
  end: number;
  note: string;
}
function marked(text: string, flags: Flag[]): Html {
  const spans = flags.filter((f) => f.end > f.start && f.start >= 0 && f.start < text.length).sort((a, b) => a.start - b.start);
  let out = '',
    at = 0;
  for (const f of spans) {
    if (f.start < at) continue; // overlapping spans: the first one is drawn
    const end = Math.min(f.end, text.length);
    out += `${esc(text.slice(at, f.start))}<mark class="flag" title="${esc(f.note)}">${esc(text.slice(f.start, end))}</mark>`;
    at = end;
  }
  return raw(out + esc(text.slice(at)));
}

const MONITOR_JUDGE = /^monitor:([a-z_]+):v(\d+)(:turn)?$/;

/**
 * The spans behind each monitor judgment, by message index of the whole transcript (prompt + answer).
 * The store keeps a monitor's label and reason, not its spans; the monitors are rules, so the page runs
 * the same rules again, and only when the stored judgment's rule version is the one bundled here (an
 * older version's spans could differ from what it decided).
 */
function monitorFlags(s: SampleDetail, messages: ChatMessage[]): { flags: Map<number, Flag[]>; stale: string[] } {
  const flags = new Map<number, Flag[]>(),
    stale: string[] = [];
  for (const j of s.judgments) {
    const m = MONITOR_JUDGE.exec(j.judge);
    if (!m) continue;
    if (MONITOR_VERSIONS[m[1]] !== Number(m[2])) {
      stale.push(j.judge);
      continue;
    }
    if (j.label === 'none') continue;
    let evidence: Evidence[];
    try {
      const monitor = monitorByName(m[1]);
      const v = m[3] ? turnVerdict(monitor, messages) : monitor.check({ messages });
      if (!v.flag) continue;
      evidence = v.evidence;
    } catch {
      continue; // a monitor this viewer does not bundle: its reason is still shown in the table
    }
    for (const e of evidence) {
      const list = flags.get(e.message) ?? [];
      list.push({ start: e.start, end: e.end, note: `${m[1]}: ${j.explanation ?? j.label}` });
      flags.set(e.message, list);
    }
  }
  return { flags, stale };
}

function toolCallsHtml(m: AnyMessage): Html {
  if (!m.tool_calls?.length) return html``;
  return html`<div class="tool-calls">${m.tool_calls.map((c) => {
    const name = c.function?.name ?? c.name ?? '?';
    const args = c.function?.arguments ?? c.arguments;
    return html`<div class="tool-call"><span class="role">tool call</span><code>${name}</code>(<code>${typeof args === 'string' ? args : JSON.stringify(args ?? {})}</code>)${c.id ? html` <span class="muted small">${c.id}</span>` : ''}</div>`;
  })}</div>`;
}

function messageHtml(m: AnyMessage, i: number, flags: Map<number, Flag[]>, label: string, extraClass = ''): Html {
  const text = textOf(m.content);
  const role = m.role === 'tool' ? `tool result${m.name ? ` · ${m.name}` : ''}${m.tool_call_id ? ` · ${m.tool_call_id}` : ''}` : label;
  return html`<div class="msg ${m.role}${extraClass}" data-message="${i}"><span class="role">${role}</span>${text ? html`<div class="content">${marked(text, flags.get(i) ?? [])}</div>` : ''}${toolCallsHtml(m)}</div>`;
}

/**
 * The prompt as turns and then the answer. Messages before the last user turn are earlier exchanges
 * (in-context examples, or a conversation's earlier turns): folded into one collapsible block, open
 * when there are only a few.
 */
function transcriptHtml(s: SampleDetail): Html {
  const prompt = isMessages(s.prompt) ? s.prompt : undefined;
  if (!prompt)
    return html`<h4>Prompt</h4><pre class="wrap">${typeof s.prompt === 'string' ? s.prompt : JSON.stringify(s.prompt, null, 2)}</pre>
      <h4>Answer <small class="muted">${s.finishReason}</small></h4><div class="answer">${s.answer || html`<i class="muted">(empty)</i>`}</div>`;
  const chat: ChatMessage[] = [
    ...prompt.map((m) => ({ role: (['system', 'user', 'assistant'].includes(m.role) ? m.role : 'user') as ChatMessage['role'], content: textOf(m.content) })),
    { role: 'assistant', content: s.answer },
  ];
  const { flags, stale } = monitorFlags(s, chat);
  const lastUser = prompt.map((m) => m.role).lastIndexOf('user');
  const indexed = prompt.map((m, i) => ({ m, i }));
  // Without a user turn there is nothing earlier to fold: every message is shown in order.
  const system = lastUser < 0 ? [] : indexed.filter(({ m, i }) => m.role === 'system' && i < lastUser);
  const earlier = lastUser < 0 ? [] : indexed.filter(({ m, i }) => i < lastUser && m.role !== 'system');
  const now = lastUser < 0 ? indexed : indexed.filter(({ i }) => i >= lastUser);
  const answerIndex = prompt.length;
  const conversation = s.questionId.includes('@');
  const noun = conversation ? 'earlier turns' : 'in-context messages';
  const flaggedEarlier = earlier.some(({ i }) => flags.has(i));
  return html`<div class="chat">
    ${system.map(({ m, i }) => messageHtml(m, i, flags, 'system'))}
    ${
      earlier.length
        ? html`<details class="context"${earlier.length <= 4 || flaggedEarlier ? ' open' : ''}><summary>${earlier.length} ${noun}${flaggedEarlier ? ' (flagged spans inside)' : ''}</summary>
        ${earlier.map(({ m, i }) => messageHtml(m, i, flags, conversation ? m.role : `in-context ${m.role}`, ' context'))}</details>`
        : ''
    }
    ${now.map(({ m, i }) => messageHtml(m, i, flags, m.role))}
    <div class="msg assistant answer-msg" data-message="${answerIndex}"><span class="role">answer · ${s.finishReason}</span><div class="content answer">${s.answer ? marked(s.answer, flags.get(answerIndex) ?? []) : html`<i class="muted">(empty)</i>`}</div></div>
  </div>
  ${stale.length ? html`<p class="note small">Spans not highlighted for ${stale.join(', ')}: judged by other rule versions than this viewer's.</p>` : ''}`;
}

/** Whose judgment: this run's judge, one of the run's monitors, or a judge of another run over the same sample. */
function origin(judge: string, run: RunDetail): { cls: string; tag: string } {
  if (judge === run.judge) return { cls: 'current', tag: "this run's judge" };
  if (judge.startsWith('monitor:')) return { cls: 'monitor', tag: 'monitor' };
  return { cls: 'other-run', tag: 'from another run' };
}

export function detailHtml(s: SampleDetail, run: RunDetail): Html {
  const own = viewOf(run.kind).sampleDetail?.(s, run);
  return html`
    <div class="detail-head"><b>${s.condition}</b> · ${s.questionId} · #${s.idx} ${s.label ? html`<span class="tag label">${s.label}</span>` : ''}${s.score !== null ? html` <span class="tag">score ${num(s.score)}</span>` : ''}
      <a class="permalink" href="${routeHref(['run', run.id, 'samples'], { condition: s.condition, sample: String(s.id) })}" title="link to this sample">link</a></div>
    ${own ? own : transcriptHtml(s)}
    ${
      s.judgments.length
        ? html`<h4>Judgments</h4><table class="data judgments"><thead><tr><th>judge</th><th>label</th><th class="num">score</th><th>why</th></tr></thead><tbody>
      ${s.judgments.map((j) => {
        const o = origin(j.judge, run);
        return html`<tr class="${o.cls}"><td class="mono small">${j.judge}<br /><span class="tag origin ${o.cls}">${o.tag}</span></td><td>${j.label}</td><td class="num">${j.score === null ? '' : num(j.score)}</td><td class="small why">${j.explanation ?? html`<span class="muted">(no reason stored)</span>`}</td></tr>`;
      })}</tbody></table>`
        : ''
    }
    <p class="muted small">sample ${s.id} · stored ${s.createdAt}</p>`;
}
