/**
 * One sample in full, as the samples list's detail pane shows it: the prompt (a chat as turns), the
 * whole answer, and every judgment with the scorer's reason.
 */
import { html, num, type Html } from './html.ts';
import { routeHref } from './route.ts';
import type { RunDetail, SampleDetail } from '../types.ts';
import { viewOf } from '../../experiments/kinds/views.ts';

interface Message {
  role: string;
  content: string;
}

function promptHtml(prompt: unknown): Html {
  if (Array.isArray(prompt) && prompt.every((m) => m && typeof m === 'object' && 'role' in m && 'content' in m)) {
    const msgs = prompt as Message[];
    const lastUser = msgs.map((m) => m.role).lastIndexOf('user');
    return html`<div class="chat">${msgs.map(
      (m, i) => html`<div class="msg ${m.role}${i < lastUser && m.role !== 'system' ? ' context' : ''}">
      <span class="role">${m.role === 'system' ? 'system' : i < lastUser ? `in-context ${m.role}` : m.role}</span><div class="content">${m.content}</div></div>`,
    )}</div>`;
  }
  return html`<pre>${JSON.stringify(prompt, null, 2)}</pre>`;
}

export function detailHtml(s: SampleDetail, run: RunDetail): Html {
  const own = viewOf(run.kind).sampleDetail?.(s, run);
  return html`
    <div class="detail-head"><b>${s.condition}</b> · ${s.questionId} · #${s.idx} ${s.label ? html`<span class="tag label">${s.label}</span>` : ''}${s.score !== null ? html` <span class="tag">score ${num(s.score)}</span>` : ''}
      <a class="permalink" href="${routeHref(['run', run.id, 'samples'], { condition: s.condition, sample: String(s.id) })}" title="link to this sample">link</a></div>
    ${
      own
        ? own
        : html`
      <h4>Prompt</h4>${promptHtml(s.prompt)}
      <h4>Answer <small class="muted">${s.finishReason}</small></h4><div class="answer">${s.answer || html`<i class="muted">(empty)</i>`}</div>`
    }
    ${
      s.judgments.length
        ? html`<h4>Judgments</h4><table class="data"><thead><tr><th>judge</th><th>label</th><th class="num">score</th><th>why</th></tr></thead><tbody>
      ${s.judgments.map((j) => html`<tr class="${j.judge === run.judge ? 'current' : ''}"><td class="mono small">${j.judge}</td><td>${j.label}</td><td class="num">${j.score === null ? '' : num(j.score)}</td><td class="small">${j.explanation ?? ''}</td></tr>`)}</tbody></table>`
        : ''
    }
    <p class="muted small">sample ${s.id} · stored ${s.createdAt}</p>`;
}
