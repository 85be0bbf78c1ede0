// journeys.test.mjs — black-box tests of journeys: the definition API and its validation,
// each trigger and step kind, the seminar scenario with real SMTP delivery, quiet hours in the
// contact's zone, goals, re-entry, versions, webhooks and alerts to local receivers. The clock
// is moved by hand (KIZUNA_CLOCK=manual), so days pass in milliseconds. Crashes and two nodes:
// journeys_scale.test.mjs.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  assertError, expectStatus, test, uniqueEmail, waitFor,
} from './harness.mjs';
import { startSink } from './mail.mjs';
import {
  DAY, activate, advance, contact, email, journey, mailServer, receiver, server, simple, stats, track, where,
} from './journeys_lib.mjs';

// ---------------------------------------------------------------- definitions

test('journey CRUD keeps ui and label verbatim, lists by status, drafts may be incomplete', async () => {
  const srv = await server();
  const e = await email(srv, 'A', 'ようこそ');
  const j = await journey(srv, simple(e.id));
  assert.equal(j.status, 'draft');
  assert.equal(j.version, 1);
  assert.equal(j.valid, true);
  assert.deepEqual(j.problems, []);
  assert.deepEqual(j.definition.steps.s1.ui, { x: 10, y: 20 });
  assert.equal(j.definition.steps.s1.label, '最初のメール');
  // an incomplete draft is saved, with its problems
  const d = await journey(srv, { triggers: [{ type: 'manual' }], start: 'a', steps: { a: { type: 'wait', seconds: 60, next: 'zz' } } }, '下書き');
  assert.equal(d.valid, false);
  assert.equal(d.problems[0].step, 'a');
  assert.equal(d.problems[0].field, 'steps.a.next');
  // activating it is refused and changes nothing
  const r = await srv.api('POST', `/api/v1/journeys/${d.id}/activate`);
  assertError(r, 422, 'invalid_field', 'steps.a.next');
  assert.equal(r.json.error.problems[0].step, 'a');
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/journeys/${d.id}`), 200).status, 'draft');
  await activate(srv, j.id);
  const active = expectStatus(await srv.api('GET', '/api/v1/journeys?status=active'), 200);
  assert.deepEqual(active.data.map((x) => x.id), [j.id]);
  const all = expectStatus(await srv.api('GET', '/api/v1/journeys?limit=1'), 200);
  assert.equal(all.data.length, 1);
  assert.ok(all.next_cursor);
  const p2 = expectStatus(await srv.api('GET', `/api/v1/journeys?limit=1&cursor=${all.next_cursor}`), 200);
  assert.equal(p2.data.length, 1);
  assert.notEqual(p2.data[0].id, all.data[0].id);
  assertError(await srv.api('GET', '/api/v1/journeys?status=running'), 400, 'invalid_parameter', 'status');
  // a live journey cannot be deleted; an archived one can
  assertError(await srv.api('DELETE', `/api/v1/journeys/${j.id}`), 409, 'conflict', 'status');
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/archive`), 200);
  expectStatus(await srv.api('DELETE', `/api/v1/journeys/${j.id}`), 204);
  assertError(await srv.api('GET', `/api/v1/journeys/${j.id}`), 404, 'not_found');
  assertError(await srv.api('POST', '/api/v1/journeys', { definition: {} }), 422, 'invalid_field', 'name');
});

test('validation names the offending step for each kind of mistake', async () => {
  const srv = await server();
  const e = await email(srv, 'A', 'A');
  const check = async (def) => expectStatus(await srv.api('POST', '/api/v1/journeys/validate', def), 200);
  const ok = await check(simple(e.id));
  assert.deepEqual(ok, { valid: true, problems: [] });
  const cases = [
    [{ ...simple(e.id), steps: { s1: { type: 'send_email', email_id: e.id, next: 'nope' } } }, 's1', 'steps.s1.next', /nope/],
    [{ ...simple(e.id), steps: { s1: { type: 'send_email', email_id: 99999, next: 'done' }, done: { type: 'exit' } } }, 's1', 'steps.s1.email_id', /99999/],
    [{ ...simple(e.id), steps: { ...simple(e.id).steps, lost: { type: 'exit' } } }, 'lost', 'steps.lost', /not reachable/],
    [{ triggers: [{ type: 'manual' }], start: 'a', steps: { a: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'x' }], next: 'b' }, b: { type: 'condition', filter: { field: 'email', op: 'exists' }, yes: 'a', no: 'a' } } }, null, null, /loop with no wait/],
    [{ triggers: [{ type: 'manual' }], start: 'a', steps: { a: { type: 'split', branches: [{ percent: 50, next: 'b' }, { percent: 40, next: 'b' }] }, b: { type: 'exit' } } }, 'a', 'steps.a.branches', /90/],
    [{ triggers: [{ type: 'segment_entered', segment_id: 4242 }], start: 'b', steps: { b: { type: 'exit' } } }, null, 'triggers.0.segment_id', /4242/],
    [{ triggers: [{ type: 'manual' }], start: 'c', steps: { c: { type: 'condition', filter: { field: 'fields.nosuch', op: 'eq', value: 1 }, yes: 'd', no: 'd' }, d: { type: 'exit' } } }, 'c', 'steps.c.filter', /nosuch/],
    [{ triggers: [{ type: 'manual' }], start: 'c', steps: { c: { type: 'add_to_list', list_id: 777, next: 'd' }, d: { type: 'exit' } } }, 'c', 'steps.c.list_id', /777/],
    [{ triggers: [{ type: 'manual' }], start: 'w', steps: { w: { type: 'wait_for_event', event: 'email_opened', yes: 'd', no: 'd' }, d: { type: 'exit' } } }, 'w', 'steps.w.timeout_seconds', /timeout/],
    [{ triggers: [{ type: 'bogus' }], start: 'd', steps: { d: { type: 'exit' } } }, null, 'triggers.0.type', /bogus/],
    [{ triggers: [{ type: 'manual' }], start: 'd', steps: { d: { type: 'exit' } }, settings: { reentry: 'sometimes' } }, null, 'settings.reentry', /reentry/],
    [{ triggers: [{ type: 'manual' }], start: 'd', steps: { d: { type: 'exit' } }, settings: { quiet_hours: { start: '25:00', end: '08:00' } } }, null, 'settings.quiet_hours', /quiet_hours/],
  ];
  for (const [def, step, field, msg] of cases) {
    const r = await check(def);
    assert.equal(r.valid, false, JSON.stringify(def));
    const p = r.problems.find((x) => msg.test(x.message));
    assert.ok(p, `${JSON.stringify(r.problems)} should match ${msg}`);
    if (step !== null) assert.equal(p.step, step);
    if (field !== null) assert.equal(p.field, field);
  }
  // create with an invalid definition: saved as a draft with its problems; invalid PATCH of a
  // live journey changes nothing
  const j = await journey(srv, simple(e.id));
  await activate(srv, j.id);
  const bad = await srv.api('PATCH', `/api/v1/journeys/${j.id}`, { definition: cases[0][0] });
  assertError(bad, 422, 'invalid_field', 'steps.s1.next');
  assert.equal(bad.json.error.problems[0].step, 's1');
  const still = expectStatus(await srv.api('GET', `/api/v1/journeys/${j.id}`), 200);
  assert.equal(still.version, 1);
  assert.deepEqual(still.definition, simple(e.id));
});

// ---------------------------------------------------------------- the seminar scenario

const local = (srv, href) => href.replace(/^https?:\/\/[^/]+/, srv.url);
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36';

test('seminar: sign-up → mail A → 3 days → opened A? → mail B / mail C, delivered by SMTP', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  const a = await email(srv, 'A', 'セミナーのご案内A');
  const b = await email(srv, 'B', 'ご来場ありがとうB');
  const c = await email(srv, 'C', 'まだ間に合いますC');
  const j = await journey(srv, {
    triggers: [{ type: 'event', event: 'seminar_signup', where: [{ prop: 'seminar', op: 'eq', value: 'tokyo-12' }] }],
    start: 'sa',
    steps: {
      sa: { type: 'send_email', email_id: a.id, next: 'w1' },
      w1: { type: 'wait', seconds: 3 * DAY, next: 'c1' },
      c1: { type: 'condition', filter: { event: 'email_opened', where: [{ prop: 'email_id', op: 'eq', value: a.id }] }, yes: 'b', no: 'c' },
      b: { type: 'send_email', email_id: b.id, next: 'done' },
      c: { type: 'send_email', email_id: c.id, next: 'done' },
      done: { type: 'exit' },
    },
  }, 'セミナー');
  await activate(srv, j.id);
  const opener = await contact(srv, uniqueEmail('opener'), { first_name: '太郎' });
  const sleeper = await contact(srv, uniqueEmail('sleeper'), { first_name: '花子' });
  const other = await contact(srv, uniqueEmail('other'));
  await track(srv, opener.id, 'seminar_signup', { seminar: 'tokyo-12' });
  await track(srv, sleeper.id, 'seminar_signup', { seminar: 'tokyo-12' });
  await track(srv, other.id, 'seminar_signup', { seminar: 'osaka-1' }); // filtered out
  await waitFor(() => sink.messages().length === 2, { timeout: 10000, what: 'mail A to both' });
  const msgs = sink.messages();
  assert.deepEqual(msgs.map((m) => m.decodedSubject || m.get('Subject')).length, 2);
  const toOpener = msgs.find((m) => m.get('To').includes(opener.email));
  assert.ok(toOpener, 'mail A reached the opener');
  assert.equal((await where(srv, other.id)).length, 0);
  const w = await where(srv, opener.id);
  assert.equal(w.length, 1);
  assert.equal(w[0].state, 'active');
  assert.equal(w[0].step, 'w1');
  assert.equal(w[0].step_type, 'wait');
  assert.match(w[0].reason, /^waiting until \d{4}-/);
  assert.deepEqual(w[0].history.map((h) => [h.step, h.outcome]), [['sa', 'sent']]);
  // the opener opens mail A (a real pixel fetch, a while after it was sent)
  await advance(srv, 3600);
  const pix = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(toOpener.htmlPart.text)[1];
  assert.equal((await fetch(local(srv, pix), { headers: { 'user-agent': CHROME } })).status, 200);
  // nothing more before three days have passed
  await advance(srv, 2 * DAY);
  assert.equal(sink.messages().length, 2);
  await advance(srv, DAY);
  await waitFor(() => sink.messages().length === 4, { timeout: 10000, what: 'mail B and C' });
  const all = sink.messages();
  const got = (who, re) => all.filter((m) => m.get('To').includes(who.email) && re.test(m.htmlPart.text)).length;
  assert.equal(got(opener, /ご来場ありがとうB 太郎/), 1);
  assert.equal(got(opener, /まだ間に合いますC/), 0);
  assert.equal(got(sleeper, /まだ間に合いますC 花子/), 1);
  assert.equal(got(sleeper, /ご来場ありがとうB/), 0);
  await waitFor(async () => (await where(srv, opener.id))[0].state === 'completed', { what: 'completed' });
  const s = await stats(srv, j.id);
  assert.equal(s.enrolled, 2);
  assert.equal(s.completed, 2);
  assert.equal(s.active, 0);
  assert.deepEqual(s.steps.c1.branches, { yes: 1, no: 1 });
  assert.equal(s.steps.b.completed, 1);
  assert.equal(s.steps.c.completed, 1);
  assert.equal(s.steps.sa.entered, 2);
  const h = (await where(srv, opener.id))[0].history.map((x) => [x.step, x.outcome]);
  assert.deepEqual(h, [['sa', 'sent'], ['w1', 'waited'], ['c1', 'yes'], ['b', 'sent'], ['done', 'completed']]);
  await sink.stop();
});

// ---------------------------------------------------------------- quiet hours, goals, re-entry

const hhmm = (min) => `${String(Math.floor(min / 60) % 24).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

test('quiet hours move a send to the end of the quiet time in the contact\'s zone (Asia/Tokyo)', async () => {
  const srv = await server();
  expectStatus(await srv.api('PATCH', '/api/v1/settings', { timezone: 'UTC' }), 200);
  const e = await email(srv, 'Q', 'おはようございます');
  const now = Date.parse((await advance(srv, 0)).now);
  const tokyo = now + 9 * 3600e3;
  const nowMin = Math.floor((tokyo % 86400e3) / 60e3);
  const startMin = (nowMin + 1440 - 60) % 1440;
  const endMin = (nowMin + 120) % 1440;
  const j = await journey(srv, {
    ...simple(e.id), settings: { quiet_hours: { start: hhmm(startMin), end: hhmm(endMin) } },
  });
  await activate(srv, j.id);
  const tk = await contact(srv, uniqueEmail('tokyo'), { timezone: 'Asia/Tokyo' });
  const utc = await contact(srv, uniqueEmail('utc')); // no zone: the workspace's (UTC), not quiet now
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_ids: [tk.id, utc.id] }), 200);
  await waitFor(async () => (await where(srv, utc.id))[0]?.history.length === 2, { what: 'the UTC contact is mailed now' });
  const w = (await where(srv, tk.id))[0];
  assert.equal(w.step, 's1');
  assert.equal(w.history.length, 0);
  const dayStart = Math.floor(tokyo / 86400e3) * 86400e3;
  let expected = dayStart + endMin * 60e3 - 9 * 3600e3;
  if (expected < now) expected += 86400e3;
  assert.equal(Date.parse(w.due_at), expected, `due ${w.due_at}, expected ${new Date(expected).toISOString()}`);
  await advance(srv, 3600);
  assert.equal((await where(srv, tk.id))[0].history.length, 0, 'still quiet an hour later');
  await advance(srv, 3600 + 60);
  await waitFor(async () => (await where(srv, tk.id))[0].state === 'completed', { what: 'sent after the quiet hours' });
  assert.deepEqual((await where(srv, tk.id))[0].history.map((h) => h.outcome), ['sent', 'completed']);
});

test('a goal reached at any time ends the journey for that contact, within a second', async () => {
  const srv = await server();
  const e = await email(srv, 'G', 'ご購入はこちら');
  const j = await journey(srv, {
    triggers: [{ type: 'manual' }],
    start: 'w', steps: {
      w: { type: 'wait', seconds: 7 * DAY, next: 's' }, s: { type: 'send_email', email_id: e.id },
      g: { type: 'goal', filter: { event: 'purchase', where: [{ prop: 'amount', op: 'gte', value: 10000 }] } },
    },
  });
  await activate(srv, j.id);
  const buyer = await contact(srv, uniqueEmail('buyer'));
  const small = await contact(srv, uniqueEmail('small'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_ids: [buyer.id, small.id] }), 200);
  await track(srv, small.id, 'purchase', { amount: 500 });
  const t0 = Date.now();
  await track(srv, buyer.id, 'purchase', { amount: 12000 });
  await waitFor(async () => (await where(srv, buyer.id))[0].state === 'goal', { timeout: 3000, what: 'goal' });
  assert.ok(Date.now() - t0 < 1500, `goal took ${Date.now() - t0} ms`);
  const w = (await where(srv, buyer.id))[0];
  assert.equal(w.step, 'g');
  assert.match(w.reason, /goal g/);
  assert.equal((await where(srv, small.id))[0].state, 'active');
  const s = await stats(srv, j.id);
  assert.equal(s.goal_reached, 1);
  assert.equal(s.conversion_rate, 0.5);
  assert.equal(s.steps.w.waiting, 1);
  await advance(srv, 7 * DAY);
  await waitFor(async () => (await where(srv, small.id))[0].state === 'completed', { what: 'small completes' });
  assert.equal((await where(srv, buyer.id))[0].history.length, 1, 'the buyer got nothing more');
});

for (const [reentry, expectEntries] of [['never', 1], ['after_exit', 2], ['every_trigger', 3]]) {
  test(`re-entry ${reentry}: three triggers (two while inside) give ${expectEntries} entries`, async () => {
    const srv = await server();
    const j = await journey(srv, {
      triggers: [{ type: 'event', event: 'whitepaper' }], start: 'w',
      steps: { w: { type: 'wait', seconds: DAY, next: 'x' }, x: { type: 'exit' } },
      settings: { reentry },
    });
    await activate(srv, j.id);
    const p = await contact(srv, uniqueEmail('re'));
    await track(srv, p.id, 'whitepaper');
    await waitFor(async () => (await where(srv, p.id)).length === 1, { what: 'first entry' });
    await track(srv, p.id, 'whitepaper'); // while inside
    await advance(srv, 2 * DAY); // the first entry completes
    await waitFor(async () => (await where(srv, p.id)).some((x) => x.state === 'completed'), { what: 'completed' });
    await track(srv, p.id, 'whitepaper'); // after exit
    await waitFor(async () => (await where(srv, p.id)).length >= expectEntries, { timeout: 5000, what: `${expectEntries} entries` });
    await new Promise((r) => setTimeout(r, 500)); // and no more come
    expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: 0 }), 200);
    const entries = await where(srv, p.id);
    assert.equal(entries.length, expectEntries, JSON.stringify(entries.map((x) => [x.state, x.entered_at])));
  });
}

// ---------------------------------------------------------------- each step kind

test('wait_for_event takes yes at once when the event comes and no at the timeout', async () => {
  const srv = await server();
  const j = await journey(srv, {
    triggers: [{ type: 'manual' }], start: 'w',
    steps: {
      w: { type: 'wait_for_event', event: 'asset_downloaded', where: [{ prop: 'asset', op: 'eq', value: 'whitepaper-a' }], timeout_seconds: 3 * DAY, yes: 'y', no: 'n' },
      y: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'downloaded' }] },
      n: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'silent' }] },
    },
  });
  await activate(srv, j.id);
  const d = await contact(srv, uniqueEmail('dl'));
  const s = await contact(srv, uniqueEmail('silent'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_ids: [d.id, s.id] }), 200);
  await waitFor(async () => (await where(srv, d.id))[0]?.reason?.startsWith('waiting for asset_downloaded'), { what: 'waiting' });
  await track(srv, d.id, 'asset_downloaded', { asset: 'whitepaper-b' }); // not the one
  await track(srv, s.id, 'page_view');
  await track(srv, d.id, 'asset_downloaded', { asset: 'whitepaper-a' });
  await waitFor(async () => (await where(srv, d.id))[0].state === 'completed', { timeout: 2000, what: 'yes within a second' });
  assert.ok(expectStatus(await srv.api('GET', `/api/v1/contacts/${d.id}`), 200).tags.includes('downloaded'));
  assert.equal((await where(srv, s.id))[0].state, 'active');
  await advance(srv, 3 * DAY);
  await waitFor(async () => (await where(srv, s.id))[0].state === 'completed', { what: 'no at the timeout' });
  assert.ok(expectStatus(await srv.api('GET', `/api/v1/contacts/${s.id}`), 200).tags.includes('silent'));
  assert.deepEqual((await stats(srv, j.id)).steps.w.branches, { yes: 1, no: 1 });
});

test('split, update_contact (field, tags, owner round robin, points, stage) and list steps', async () => {
  const srv = await server();
  const f = await srv.api('POST', '/api/v1/fields', { key: 'plan', label: 'プラン', type: 'text' });
  assert.ok([200, 201].includes(f.status), f.info);
  const u1 = expectStatus(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('sales1'), name: '営業1', role: 'sales', password: 'correct horse battery' }), 201);
  const u2 = expectStatus(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('sales2'), name: '営業2', role: 'sales', password: 'correct horse battery' }), 201);
  const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: 'フォロー中', type: 'static' }), 201);
  const old = expectStatus(await srv.api('POST', '/api/v1/segments', { name: '旧リスト', type: 'static' }), 201);
  const j = await journey(srv, {
    triggers: [{ type: 'manual' }], start: 'sp',
    steps: {
      sp: { type: 'split', branches: [{ percent: 50, next: 'a' }, { percent: 50, next: 'b' }] },
      a: { type: 'update_contact', actions: [{ op: 'set_field', field: 'fields.plan', value: 'A案' }], next: 'u' },
      b: { type: 'update_contact', actions: [{ op: 'set_field', field: 'fields.plan', value: 'B案' }], next: 'u' },
      u: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'nurture' }, { op: 'remove_tag', tag: 'cold' }, { op: 'assign_owner', users: [u1.id, u2.id] }, { op: 'add_points', points: 15 }, { op: 'set_stage', stage: 'mql' }], next: 'l' },
      l: { type: 'add_to_list', list_id: list.id, next: 'r' },
      r: { type: 'remove_from_list', list_id: old.id },
    },
  });
  await activate(srv, j.id);
  const people = [];
  for (let i = 0; i < 40; i++) people.push(await contact(srv, uniqueEmail(`sp${i}`), { tags: ['cold'] }));
  expectStatus(await srv.api('POST', `/api/v1/segments/${old.id}/members`, { contact_ids: people.map((p) => p.id), mode: 'append' }), 200);
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_ids: people.map((p) => p.id) }), 200);
  await waitFor(async () => (await stats(srv, j.id)).completed === 40, { timeout: 10000, what: 'all 40 through' });
  const s = await stats(srv, j.id);
  const br = s.steps.sp.branches;
  assert.equal(br['0'] + br['1'], 40);
  assert.ok(br['0'] >= 8 && br['1'] >= 8, `a fair split: ${JSON.stringify(br)}`);
  const owners = { [u1.id]: 0, [u2.id]: 0 };
  for (const p of people) {
    const c = expectStatus(await srv.api('GET', `/api/v1/contacts/${p.id}`), 200);
    assert.ok(['A案', 'B案'].includes(c.fields.plan));
    assert.ok(c.tags.includes('nurture') && !c.tags.includes('cold'), JSON.stringify(c.tags));
    owners[c.owner]++;
  }
  assert.deepEqual(owners, { [u1.id]: 20, [u2.id]: 20 }, 'round robin');
  const c0 = expectStatus(await srv.api('GET', `/api/v1/contacts/${people[0].id}`), 200);
  assert.equal(c0.score, 15);
  assert.equal(c0.stage, 'mql');
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/segments/${list.id}`), 200).count, 40);
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/segments/${old.id}`), 200).count, 0);
});

test('segment, list, score and stage triggers; leaving the exit segment leaves the journey', async () => {
  const srv = await server();
  expectStatus(await srv.api('PUT', '/api/v1/scoring/settings', { decay: null, company: 'sum', thresholds: [50] }), 200);
  expectStatus(await srv.api('POST', '/api/v1/scoring/rules', { name: 'demo', event: 'demo_request', points: 60 }), 201);
  const seg = expectStatus(await srv.api('POST', '/api/v1/segments', { name: 'VIP', filter: { field: 'tags', op: 'contains', value: 'vip' } }), 201);
  const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: '展示会名刺', type: 'static' }), 201);
  const longWait = (trigger, extra = {}) => ({ triggers: [trigger], start: 'w', steps: { w: { type: 'wait', seconds: 30 * DAY, next: 'x' }, x: { type: 'exit' } }, ...extra });
  const jSeg = await journey(srv, longWait({ type: 'segment_entered', segment_id: seg.id }, { settings: { exit_segment_id: seg.id } }), 'seg');
  const jList = await journey(srv, longWait({ type: 'list_added', list_id: list.id }), 'list');
  const jScore = await journey(srv, longWait({ type: 'score', threshold: 50 }), 'score');
  const jStage = await journey(srv, longWait({ type: 'stage', stage: 'sql' }), 'stage');
  for (const j of [jSeg, jList, jScore, jStage]) await activate(srv, j.id);
  const p = await contact(srv, uniqueEmail('trig'));
  expectStatus(await srv.api('PATCH', `/api/v1/contacts/${p.id}`, { tags: ['vip'] }), 200);
  expectStatus(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [p.id], mode: 'append' }), 200);
  await track(srv, p.id, 'demo_request');
  expectStatus(await srv.api('PUT', `/api/v1/contacts/${p.id}/stage`, { stage: 'sql' }), 200);
  await waitFor(async () => (await where(srv, p.id)).length === 4, { timeout: 15000, what: "four entries" });
  const names = (await where(srv, p.id)).map((x) => x.journey_name).sort();
  assert.deepEqual(names, ['list', 'score', 'seg', 'stage']);
  // leaving the VIP segment exits the segment journey only
  expectStatus(await srv.api('PATCH', `/api/v1/contacts/${p.id}`, { tags: [] }), 200);
  await waitFor(async () => (await where(srv, p.id)).find((x) => x.journey_name === 'seg').state === 'exited', { what: 'exit on leaving' });
  const seg1 = (await where(srv, p.id)).find((x) => x.journey_name === 'seg');
  assert.match(seg1.reason, new RegExp(`left segment ${seg.id}`));
  assert.equal((await where(srv, p.id)).filter((x) => x.state === 'active').length, 3);
  // include_existing: activating enrols who is already inside
  const q = await contact(srv, uniqueEmail('existing'), { tags: ['vip'] });
  await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/segments/${seg.id}`), 200).count === 1, { what: 'q in VIP' });
  const jEx = await journey(srv, longWait({ type: 'segment_entered', segment_id: seg.id, include_existing: true }), 'existing');
  const act = await activate(srv, jEx.id);
  assert.equal(act.enrolled, 1);
  assert.ok((await where(srv, q.id)).some((x) => x.journey_name === 'existing'));
});

// ---------------------------------------------------------------- calls, versions

test('send_webhook posts signed JSON and retries; notify mails the owner and posts to Slack with context', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  const hook = await receiver({ failFirst: 1 });
  const slack = await receiver();
  const owner = expectStatus(await srv.api('POST', '/api/v1/users', { email: uniqueEmail('owner'), name: '佐藤', role: 'sales', password: 'correct horse battery' }), 201);
  const secret = 'a-very-long-journey-secret-0123';
  const j = await journey(srv, {
    triggers: [{ type: 'manual' }], start: 'h',
    steps: {
      h: { type: 'send_webhook', url: hook.url, body: { campaign: 'winter' }, next: 'n' },
      n: { type: 'notify', to: 'owner', slack_url: slack.url, message: 'ホットリードです' },
    },
    settings: { webhook_secret: secret },
  });
  await activate(srv, j.id);
  const p = await contact(srv, uniqueEmail('hot'), { first_name: '一郎', last_name: '山田', owner: owner.id });
  await track(srv, p.id, 'page_view', {});
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_id: p.id }), 200);
  // the first webhook attempt gets a 503; the retry comes after the backoff (server clock)
  await waitFor(async () => {
    await advance(srv, 10);
    return hook.got.length === 1;
  }, { timeout: 15000, what: 'webhook delivered on retry' });
  const g = hook.got[0];
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(g.headers['x-kizuna-signature']);
  const want = crypto.createHmac('sha256', secret).update(`${t}.${g.body}`).digest('hex');
  assert.equal(v1, want, 'HMAC-SHA256 of "<t>.<body>"');
  assert.equal(g.json.journey_id, j.id);
  assert.equal(g.json.step, 'h');
  assert.deepEqual(g.json.data, { campaign: 'winter' });
  assert.equal(g.json.contact.email, p.email);
  assert.match(g.headers['x-kizuna-delivery'], /^j\d+:0:webhook$/);
  await waitFor(() => slack.got.length === 1, { timeout: 10000, what: 'slack alert' });
  assert.match(slack.got[0].json.text, /ホットリードです/);
  assert.match(slack.got[0].json.text, /Score: \d+/);
  assert.match(slack.got[0].json.text, /山田/);
  await waitFor(() => sink.messages().some((m) => m.get('To').includes(owner.email)), { timeout: 10000, what: 'owner alert mail' });
  const mail = sink.messages().find((m) => m.get('To').includes(owner.email));
  assert.match(mail.raw.toString('utf8'), /Stage: /);
  const calls = expectStatus(await srv.api('GET', `/api/v1/journeys/${j.id}/calls`), 200).data;
  assert.deepEqual(calls.map((c) => [c.kind, c.status]).sort(), [['mail', 'done'], ['slack', 'done'], ['webhook', 'done']]);
  assert.equal(calls.find((c) => c.kind === 'webhook').attempts, 2);
  await hook.close();
  await slack.close();
  await sink.stop();
});

test('editing a live journey makes a new version; people inside stay on theirs until migrated', async () => {
  const srv = await server();
  const defV1 = {
    triggers: [{ type: 'manual' }], start: 'w',
    steps: { w: { type: 'wait', seconds: DAY, next: 't' }, t: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'v1' }] } },
  };
  const j = await journey(srv, defV1);
  await activate(srv, j.id);
  const a = await contact(srv, uniqueEmail('va'));
  const b = await contact(srv, uniqueEmail('vb'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_ids: [a.id, b.id] }), 200);
  const defV2 = {
    triggers: [{ type: 'manual' }], start: 'w2',
    steps: { w2: { type: 'wait', seconds: 2 * DAY, next: 't2' }, t2: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'v2' }] } },
  };
  const p = expectStatus(await srv.api('PATCH', `/api/v1/journeys/${j.id}`, { definition: defV2 }), 200);
  assert.equal(p.version, 2);
  const vs = expectStatus(await srv.api('GET', `/api/v1/journeys/${j.id}/versions`), 200).data;
  assert.deepEqual(vs.map((v) => [v.version, v.active]), [[2, 0], [1, 2]]);
  // a mapping that leaves a step without a home is refused and moves nobody
  assertError(await srv.api('POST', `/api/v1/journeys/${j.id}/migrate`, { from_version: 1, mapping: { w: 'w2' } }), 422, 'invalid_field', 'mapping.t');
  const c = await contact(srv, uniqueEmail('vc'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_id: c.id }), 200);
  assert.equal((await where(srv, c.id))[0].version, 2);
  await advance(srv, DAY + 60);
  await waitFor(async () => (await where(srv, a.id))[0].state === 'completed', { what: 'v1 finishes on v1' });
  assert.ok(expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}`), 200).tags.includes('v1'));
  assert.equal((await where(srv, c.id))[0].state, 'active');
  // migrate: nobody is left on v1 now, so 0 moved; a fresh v1 entry cannot happen any more
  const m = expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/migrate`, { from_version: 1, mapping: { w: 'w2', t: 't2' } }), 200);
  assert.equal(m.moved, 0);
  assert.equal((await stats(srv, j.id)).version, 2);
});

test('migrate moves people inside an old version step by step', async () => {
  const srv = await server();
  const j = await journey(srv, { triggers: [{ type: 'manual' }], start: 'w', steps: { w: { type: 'wait', seconds: 5 * DAY, next: 'x' }, x: { type: 'exit' } } });
  await activate(srv, j.id);
  const a = await contact(srv, uniqueEmail('ma'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_id: a.id }), 200);
  expectStatus(await srv.api('PATCH', `/api/v1/journeys/${j.id}`, { definition: { triggers: [{ type: 'manual' }], start: 'w', steps: { w: { type: 'wait', seconds: 5 * DAY, next: 'tag' }, tag: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'migrated' }] } } } }), 200);
  const m = expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/migrate`, { from_version: 1, mapping: { x: 'tag' } }), 200);
  assert.equal(m.moved, 1);
  assert.equal((await where(srv, a.id))[0].version, 2);
  await advance(srv, 5 * DAY);
  await waitFor(async () => (await where(srv, a.id))[0].state === 'completed', { what: 'done on v2' });
  assert.ok(expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}`), 200).tags.includes('migrated'));
});

test('pause holds everyone in place; the send cap stops mails after n', async () => {
  const srv = await server();
  const e = await email(srv, 'cap', '毎日のヒント');
  const j = await journey(srv, {
    triggers: [{ type: 'manual' }], start: 's1',
    steps: {
      s1: { type: 'send_email', email_id: e.id, next: 'w1' }, w1: { type: 'wait', seconds: DAY, next: 's2' },
      s2: { type: 'send_email', email_id: e.id, next: 'w2' }, w2: { type: 'wait', seconds: DAY, next: 's3' },
      s3: { type: 'send_email', email_id: e.id },
    },
    settings: { send_cap: 2 },
  });
  await activate(srv, j.id);
  const p = await contact(srv, uniqueEmail('cap'));
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_id: p.id }), 200);
  await waitFor(async () => (await where(srv, p.id))[0].step === 'w1', { what: 'first send' });
  expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/pause`), 200);
  assertError(await srv.api('POST', `/api/v1/journeys/${j.id}/enroll`, { contact_id: p.id }), 409, 'conflict', 'status');
  await advance(srv, 3 * DAY);
  assert.equal((await where(srv, p.id))[0].step, 'w1', 'paused: nothing moves');
  await activate(srv, j.id);
  await advance(srv, 0);
  await waitFor(async () => (await where(srv, p.id))[0].step === 'w2', { what: 'resumed' });
  await advance(srv, DAY);
  await waitFor(async () => (await where(srv, p.id))[0].state === 'completed', { what: 'completed' });
  assert.deepEqual((await where(srv, p.id))[0].history.filter((h) => h.step.startsWith('s')).map((h) => h.outcome), ['sent', 'sent', 'skipped:send_cap']);
});

test('a date trigger enrols on the anniversary (offset in days) in the workspace zone', async () => {
  const srv = await server();
  expectStatus(await srv.api('PATCH', '/api/v1/settings', { timezone: 'Asia/Tokyo' }), 200);
  const f = await srv.api('POST', '/api/v1/fields', { key: 'renewal', label: '契約更新日', type: 'date' });
  assert.ok([200, 201].includes(f.status), f.info);
  const now = Date.parse((await advance(srv, 0)).now);
  const day = (offsetDays) => new Date(now + 9 * 3600e3 + offsetDays * 86400e3).toISOString().slice(5, 10);
  const due = await contact(srv, uniqueEmail('renew'), { fields: { renewal: `2024-${day(30)}` } });
  const later = await contact(srv, uniqueEmail('later'), { fields: { renewal: `2024-${day(31)}` } });
  const j = await journey(srv, {
    triggers: [{ type: 'date', field: 'fields.renewal', offset_days: -30 }], start: 't',
    steps: { t: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'renewal-30' }] } },
  });
  await activate(srv, j.id);
  await waitFor(async () => (await where(srv, due.id)).length === 1, { timeout: 5000, what: '30 days before renewal' });
  assert.equal((await where(srv, later.id)).length, 0);
  await advance(srv, 86400);
  await waitFor(async () => (await where(srv, later.id)).length === 1, { timeout: 5000, what: 'the next day, the other' });
  assert.equal((await where(srv, due.id)).length, 1, 'once');
});
