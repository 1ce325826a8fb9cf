/** The viewer's profile: per question the label distribution, its entropy and the filled-in answers. */
import { html, interval, pct, type Html } from '../../../view/client/html.ts';
import { labelColours, legend, stacked } from '../../../view/client/charts.ts';
import { defaultView, type KindView, type KindViewContext } from '../../../view/client/kind-view.ts';
import type { ConditionResult } from '../../result.ts';
import type { ProfileCondition } from './index.ts';

function profileSection({ summary: s, samplesHref, section }: KindViewContext): Html {
  const withProfile = (s.conditions as ProfileCondition[]).filter((c) => c.profile?.length);
  if (!withProfile.length) return html``;
  const ids = [...new Set(withProfile.flatMap((c) => c.profile!.map((q) => q.id)))];
  const labels = [...new Set(withProfile.flatMap((c) => c.profile!.flatMap((q) => q.distribution.map((d) => d.label))))];
  const colour = labelColours(labels);
  const blocks = ids.map((id) => {
    const rows = withProfile.map((c) => ({ c, q: c.profile!.find((x) => x.id === id) })).filter((x) => x.q);
    const chart = stacked(
      rows.map(({ c, q }) => ({
        label: c.name,
        n: q!.n,
        href: samplesHref({ condition: c.name, question: id }),
        parts: q!.distribution
          .slice(0, 8)
          .concat(q!.distribution.length > 8 ? [{ label: 'rest', count: q!.distribution.slice(8).reduce((a, d) => a + d.count, 0) }] : []),
        note: `${q!.entropyBits.toFixed(2)} bits`,
      })),
      colour,
      { title: `profile ${id}` },
    );
    const answers = html`<div class="answers">${rows.map(
      ({ c, q }) => html`<div><h4>${c.name} <small class="muted">modal “${q!.modal}” ${pct(q!.rate, 0)} ${interval(q!.ci, 0)} · n ${q!.n}</small></h4><ol>
      ${q!.topAnswers.slice(0, 5).map((a, k) => html`<li class="${k === 0 ? 'filled-in' : ''}"><span>${a.answer}</span> <small>×${a.count} (${pct(a.count / Math.max(1, q!.n), 0)})</small></li>`)}</ol></div>`,
    )}</div>`;
    return html`<div class="profile-q"><h3><a href="${samplesHref({ question: id })}">${id}</a></h3>${chart}${answers}</div>`;
  });
  return section(
    'Profile: what each question draws',
    html`${legend(labels.slice(0, 14).map((l) => ({ label: l, colour: colour(l) })))}${blocks}`,
    'Per question, the label distribution and its entropy; below, the most frequent answers (normalised), the filled-in detail highlighted.',
    'profile',
  );
}

function compareProfiles(pairs: { label: string; a: ConditionResult; b: ConditionResult }[]): Html {
  const profiles = (pairs as { label: string; a: ProfileCondition; b: ProfileCondition }[])
    .filter((p) => p.a.profile && p.b.profile)
    .slice(0, 3)
    .map((p) => {
      const ids = p.a.profile!.filter((q) => p.b.profile!.some((x) => x.id === q.id)).map((q) => q.id);
      const pl = [...new Set([...p.a.profile!, ...p.b.profile!].flatMap((q) => q.distribution.map((d) => d.label)))];
      const pc = labelColours(pl);
      return html`<h3>${p.label}: profiles</h3>${stacked(
        ids.flatMap((id) =>
          [p.a, p.b].map((c, k) => {
            const q = c.profile!.find((x) => x.id === id)!;
            return { label: `${id} · ${k ? 'B' : 'A'}`, n: q.n, parts: q.distribution.slice(0, 8), note: `${q.entropyBits.toFixed(2)} bits · “${q.modal}”` };
          }),
        ),
        pc,
        { title: 'profiles', labelW: 220 },
      )}`;
    });
  return profiles.length ? html`<section class="card"><h2>Profiles</h2>${profiles}</section>` : html``;
}

export const profileView: KindView = {
  ...defaultView,
  measure: () => 'modal answer’s share, pooled over questions',
  perQuestion: null,
  conditionFields: ['profile'],
  sections: profileSection,
  compare: compareProfiles,
};
