import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, readFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { join } from 'node:path';
import { fillStore, type Filled } from './fixture.ts';
import { ViewStore } from '../../src/view/queries.ts';
import { createViewApp } from '../../src/view/app.ts';
import { renderViewReport } from '../../src/view/report.ts';
import type { RunList, RunDetail, SamplePage, SampleDetail, Facets } from '../../src/view/types.ts';

let dir: string, filled: Filled, view: ViewStore, app: ReturnType<typeof createViewApp>;

before(async () => {
  dir = tempDir('dramatis-view-');
  filled = await fillStore(join(dir, 'runs.db'));
  view = new ViewStore(join(dir, 'runs.db'));
  app = createViewApp(view);
});
after(() => {
  view.close();
  filled.store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(path: string, status = 200): Promise<T> {
  const res = await app.request(path);
  const body = await res.json();
  assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
  return body as T;
}

test('runs: listed newest first with headline and live progress; search, kind and status filter in SQL', async () => {
  const all = await get<RunList>('/api/runs');
  assert.equal(all.total, 6);
  assert.deepEqual(all.kinds, ['generalize', 'infer', 'profile', 'vectors']);
  const running = all.runs.find((r) => r.id === filled.runs.running)!;
  assert.deepEqual(running.progress, { done: 40, total: 200 });
  const a = all.runs.find((r) => r.id === filled.runs.a)!;
  assert.match(a.headline!, /^evil system − assistant: \+\d+\.\d% \[/);
  assert.equal(a.samples, 480);
  assert.deepEqual((await get<RunList>('/api/runs?search=em-')).runs.map((r) => r.name).sort(), ['em-shifted', 'em-small']);
  assert.deepEqual(
    (await get<RunList>('/api/runs?kind=profile')).runs.map((r) => r.name),
    ['films'],
  );
  assert.deepEqual(
    (await get<RunList>('/api/runs?status=running')).runs.map((r) => r.name),
    ['in-progress'],
  );
  assert.equal((await get<RunList>('/api/runs?search=%25')).total, 0, 'a % in the search is literal, not a wildcard');
  assert.equal((await get<RunList>('/api/runs?limit=2&offset=1')).runs.length, 2);
});

test("a run: the summary as the engine wrote it, the run's own judge; a running run gets live label counts", async () => {
  const r = await get<RunDetail>(`/api/runs/${filled.runs.a}`);
  assert.equal(r.summary!.conditions.length, 3);
  assert.match(r.judge!, /^rules:/);
  assert.deepEqual(
    r.conditionList.map((c) => c.name),
    ['assistant', 'evil system', 'plain system'],
  );
  const live = await get<RunDetail>(`/api/runs/${filled.runs.running}`);
  assert.equal(live.summary, null);
  assert.deepEqual(live.live, [
    { name: 'x', role: 'baseline', sampled: 40, labels: { benign: 30, evil: 10 } },
    { name: 'y', role: 'treatment', sampled: 0, labels: {} },
  ]);
  // A finished run resumed under the same id (a rerun) shows its new status, not a cached one.
  const before = await get<RunDetail>(`/api/runs/${filled.runs.profile}`);
  filled.store.db
    .prepare("UPDATE runs SET status = 'running', updated_at = ? WHERE id = ?")
    .run(new Date(Date.now() + 1000).toISOString(), filled.runs.profile);
  assert.equal((await get<RunDetail>(`/api/runs/${filled.runs.profile}`)).status, 'running');
  filled.store.db.prepare('UPDATE runs SET status = ?, updated_at = ? WHERE id = ?').run(before.status, before.updatedAt, filled.runs.profile);
  const missing = await get<{ error: string }>('/api/runs/nope', 404);
  assert.match(missing.error, /no run nope in .*runs\.db/);
});

test('samples: paging across conditions matches the store, and every filter agrees with a direct count', async () => {
  const id = filled.runs.a;
  const db = filled.store.db;
  const all = await get<SamplePage>(`/api/runs/${id}/samples?limit=500`);
  assert.equal(all.total, 480);
  const ids: number[] = [];
  for (let off = 0; off < 480; off += 70) ids.push(...(await get<SamplePage>(`/api/runs/${id}/samples?offset=${off}&limit=70`)).rows.map((r) => r.id));
  assert.deepEqual(
    ids,
    (await get<SamplePage>(`/api/runs/${id}/samples?limit=480`)).rows.map((r) => r.id),
    'pages join up without gaps or repeats',
  );
  assert.equal(new Set(ids).size, 480);
  const page = await get<SamplePage>(`/api/runs/${id}/samples?offset=150&limit=20`);
  assert.deepEqual([...new Set(page.rows.map((r) => r.condition))], ['assistant', 'evil system'], 'the page straddles two conditions, in order');

  const judge = (await get<RunDetail>(`/api/runs/${id}`)).judge!;
  const key = (name: string) => (db.prepare('SELECT condition_key k FROM conditions WHERE run_id = ? AND name = ?').get(id, name) as { k: string }).k;
  const direct = (name: string, label: string, question?: string) =>
    (
      db
        .prepare(
          `SELECT COUNT(*) n FROM samples s JOIN judgments j ON j.sample_id = s.id AND j.judge = ?
    WHERE s.condition_key = ? AND j.label = ? ${question ? 'AND s.question_id = ?' : ''}`,
        )
        .get(judge, key(name), label, ...(question ? [question] : [])) as { n: number }
    ).n;
  const evil = await get<SamplePage>(`/api/runs/${id}/samples?condition=evil%20system&label=evil&limit=500`);
  assert.equal(evil.total, direct('evil system', 'evil'));
  assert.equal(evil.total, (await get<RunDetail>(`/api/runs/${id}`)).summary!.conditions[1].hits, 'the filter counts what the summary counted');
  assert.ok(evil.rows.every((r) => r.label === 'evil' && r.condition === 'evil system'));
  const q = await get<SamplePage>(`/api/runs/${id}/samples?condition=evil%20system&label=evil&question=bored`);
  assert.equal(q.total, direct('evil system', 'evil', 'bored'));
  assert.ok(q.rows.every((r) => r.questionId === 'bored'));
  const text = await get<SamplePage>(`/api/runs/${id}/samples?text=VICAR&limit=500`);
  assert.ok(text.total > 0 && text.rows.every((r) => r.answer.includes('vicar')), 'text search ignores case');
  assert.equal(
    text.total,
    ['assistant', 'evil system', 'plain system'].reduce((a, c) => a + direct(c, 'evil'), 0),
    'the answers with "vicar" are exactly the evil ones',
  );

  const scored = await get<SamplePage>(`/api/runs/${filled.runs.future}/samples?min=20&max=40&limit=500`);
  assert.equal(scored.total, 2 * 11, 'scores 20..40 are idx 10..20 in each of two conditions');
  assert.ok(scored.rows.every((r) => r.score! >= 20 && r.score! <= 40));
  const facets = await get<Facets>(`/api/runs/${filled.runs.future}/facets`);
  assert.equal(facets.hasScores, true);
  assert.deepEqual(
    facets.labels,
    [
      { id: 'other', n: 50 },
      { id: 'villain', n: 50 },
    ],
    'most frequent first, ties by name',
  );

  const bad = await get<{ error: string }>(`/api/runs/${id}/samples?limit=5000`, 400);
  assert.match(bad.error, /query parameter limit/);
  assert.match(
    (await get<{ error: string }>(`/api/runs/${id}/samples?condition=nope`, 400)).error,
    /no condition "nope" \(it has "assistant", "evil system", "plain system"\)/,
  );
});

test('one sample in full, and its position in a filtered list (for shared links)', async () => {
  const id = filled.runs.a;
  const page = await get<SamplePage>(`/api/runs/${id}/samples?label=evil&offset=30&limit=1`);
  const s = await get<SampleDetail>(`/api/runs/${id}/samples/${page.rows[0].id}`);
  assert.equal(s.label, 'evil');
  assert.ok(Array.isArray(s.prompt) && (s.prompt as { role: string }[]).at(-1)!.role === 'user');
  assert.equal(s.judgments.length, 1);
  assert.deepEqual(await get(`/api/runs/${id}/position?label=evil&sample=${s.id}`), { position: 30 });
  const benign = (await get<SamplePage>(`/api/runs/${id}/samples?label=benign&limit=1`)).rows[0];
  assert.deepEqual(await get(`/api/runs/${id}/position?label=evil&sample=${benign.id}`), { position: null }, 'not in this filter');
  await get(`/api/runs/${filled.runs.b}/samples/${s.id}`, 404);
});

test('only loopback Host names are answered (a DNS-rebinding page cannot read the store)', async () => {
  assert.equal((await app.request('/api/runs', { headers: { host: '127.0.0.1:8765' } })).status, 200);
  assert.equal((await app.request('/api/runs', { headers: { host: 'localhost:8765' } })).status, 200);
  const res = await app.request('/api/runs', { headers: { host: 'evil.example:8765' } });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { error: string }).error, /Host evil\.example:8765 is not served/);
  assert.equal((await createViewApp(view, { anyHost: true }).request('/api/runs', { headers: { host: 'box.lan:8765' } })).status, 200);
});

test('the store is opened read-only: the viewer cannot write to it', () => {
  assert.equal(view.db.readonly, true);
  assert.throws(() => view.db.prepare("UPDATE runs SET name = 'x'").run(), /readonly/i);
  assert.throws(() => new ViewStore(join(dir, 'missing.db')), /no results store at .*missing\.db/);
});

test('the app is served, and the report embeds the data and the app, with a bound on samples', async () => {
  const page = await (await app.request('/')).text();
  assert.match(page, /<script src="\/app.js">/);
  const js = await (await app.request('/app.js')).text();
  assert.ok(js.length > 10_000 && js.includes('dramatis-data'));
  const html = await renderViewReport(view, [filled.runs.a], { perCondition: 50 });
  const data = JSON.parse(html.match(/<script type="application\/json" id="dramatis-data">(.*?)<\/script>/s)![1]);
  assert.equal(data.runs[0].id, filled.runs.a);
  assert.equal(data.samples[filled.runs.a].rows.length, 150);
  assert.equal(data.samples[filled.runs.a].total, 480);
  const embedded = data.samples[filled.runs.a].rows as { label: string }[];
  assert.deepEqual(
    Object.fromEntries(data.facets[filled.runs.a].labels.map((l: { id: string; n: number }) => [l.id, l.n])),
    embedded.reduce((m: Record<string, number>, r) => ({ ...m, [r.label]: (m[r.label] ?? 0) + 1 }), {}),
    'the menus count the embedded samples',
  );
  assert.ok(!html.includes('src="/app.js"'), 'no server needed');
  assert.equal(html.match(/<\/script>/g)!.length, 3, 'no embedded text closes a script early');
  assert.ok(readFileSync(new URL('../../src/view/client/main.ts', import.meta.url), 'utf8').length > 0);
});

test('runs stored before runs recorded their judge: the judge comes from the spec', async () => {
  const { copyFileSync } = await import('node:fs');
  const { default: Database } = await import('better-sqlite3');
  const old = join(dir, 'old.db');
  filled.store.db.pragma('wal_checkpoint(TRUNCATE)');
  copyFileSync(join(dir, 'runs.db'), old);
  const w = new Database(old);
  w.prepare('UPDATE runs SET judge = NULL').run();
  w.close();
  const v = new ViewStore(old);
  try {
    assert.equal(v.run(filled.runs.a).judge, view.run(filled.runs.a).judge);
    assert.equal(v.samples(filled.runs.a, { label: 'evil' }).total, view.samples(filled.runs.a, { label: 'evil' }).total);
  } finally {
    v.close();
  }
});
