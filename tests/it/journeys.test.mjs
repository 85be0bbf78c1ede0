// journeys.test.mjs — black-box tests of journeys: the definition API and its validation,
// each trigger and step kind, the seminar scenario with real SMTP delivery, quiet hours in the
// contact's zone, goals, re-entry, versions, webhooks and alerts to local receivers, kill -9
// in a large run, and two servers on one PostgreSQL. The clock is moved by hand
// (KIZUNA_CLOCK=manual), so days pass in milliseconds.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import {
  BACKEND, assertError, expectStatus, startServer, test, uniqueEmail, waitFor,
} from './harness.mjs';
import { startSink } from './mail.mjs';

const FOOTER = { company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1', company_contact: 'support@kizuna.example' };
const DAY = 86400;

async function server(env = {}, opts = {}) {
  const srv = await startServer({ env: { KIZUNA_CLOCK: 'manual', ...env }, ...opts });
  expectStatus(await srv.api('PATCH', '/api/v1/settings', {
    ...FOOTER, sender_email: 'news@kizuna.example', sender_name: '絆',
  }), 200);
  return srv;
}

async function mailServer(sink, env = {}) {
  return server({ KIZUNA_SMTP_URL: sink.url, KIZUNA_SMTP_TLS: 'none', KIZUNA_SMTP_RETRY_SECONDS: '1', ...env });
}

async function contact(srv, email, extra = {}) {
  const r = await srv.api('POST', '/api/v1/contacts', { email, ...extra });
  assert.ok(r.status === 201 || r.status === 200, r.info);
  return r.json;
}

async function email(srv, name, subject) {
  return expectStatus(await srv.api('POST', '/api/v1/emails', {
    name, subject, html: `<p>${subject} {{ contact.first_name }}</p><p><a href="https://example.jp/x">詳しく</a></p>`,
  }), 201);
}

async function journey(srv, definition, name = 'シナリオ') {
  return expectStatus(await srv.api('POST', '/api/v1/journeys', { name, definition }), 201);
}

async function activate(srv, id) {
  return expectStatus(await srv.api('POST', `/api/v1/journeys/${id}/activate`), 200);
}

async function advance(srv, seconds) {
  return expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: seconds }), 200);
}

async function track(srv, contactId, event, properties = {}) {
  const r = await srv.api('POST', '/api/v1/events', { type: 'track', event, contactId, properties });
  assert.ok(r.status === 200 || r.status === 202, r.info);
}

async function where(srv, contactId) {
  return expectStatus(await srv.api('GET', `/api/v1/contacts/${contactId}/journeys`), 200).data;
}

async function stats(srv, id) {
  return expectStatus(await srv.api('GET', `/api/v1/journeys/${id}/stats`), 200);
}

/** A local HTTP receiver that records what it got (stands in for Slack and webhook URLs). */
async function receiver({ failFirst = 0 } = {}) {
  const got = [];
  let fails = failFirst;
  const s = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (fails > 0) {
        fails--;
        res.writeHead(503).end();
        return;
      }
      got.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}/hook`, got, close: () => new Promise((r) => s.close(r)) };
}

const simple = (emailId) => ({
  triggers: [{ type: 'manual' }],
  start: 's1',
  steps: { s1: { type: 'send_email', email_id: emailId, next: 'done', ui: { x: 10, y: 20 }, label: '最初のメール' }, done: { type: 'exit' } },
  settings: { reentry: 'never' },
});

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
