// journeys_scale.test.mjs — journeys under stress: kill -9 in the middle of a large run and
// a restart (no step lost or doubled), and two `kizuna serve` nodes on one PostgreSQL sharing
// a journey (each step once, both nodes working).

import assert from 'node:assert/strict';
import {
  BACKEND, expectStatus, startServer, test, waitFor,
} from './harness.mjs';
import {
  DAY, activate, advance, email, journey, receiver, server, stats,
} from './journeys_lib.mjs';

// ---------------------------------------------------------------- crashes and two nodes

async function manyContacts(srv, n, tag) {
  // CSV import: one request for all of them
  const csv = ['email,first_name', ...Array.from({ length: n }, (_, i) => `${tag}-${i}@example.jp,人${i}`)].join('\n');
  const r = await srv.api('POST', '/api/v1/contacts/import', undefined, { raw: csv, headers: { 'content-type': 'text/csv; charset=utf-8' } });
  assert.ok(r.status === 200 || r.status === 201 || r.status === 202, r.info);
  const ids = [];
  let cursor = null;
  do {
    const page = expectStatus(await srv.api('GET', `/api/v1/contacts?limit=500${cursor ? `&cursor=${cursor}` : ''}`), 200);
    ids.push(...page.data.map((c) => c.id));
    cursor = page.next_cursor;
  } while (cursor);
  assert.equal(ids.length, n, 'all contacts imported');
  return ids;
}

async function enrolAll(srv, jid, ids) {
  for (let i = 0; i < ids.length; i += 5000) {
    expectStatus(await srv.api('POST', `/api/v1/journeys/${jid}/enroll`, { contact_ids: ids.slice(i, i + 5000) }), 200);
  }
}

const chain = (emailId) => ({
  triggers: [{ type: 'manual' }], start: 'w',
  steps: {
    w: { type: 'wait', seconds: DAY, next: 't1' },
    t1: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'step1' }], next: 's' },
    s: { type: 'send_email', email_id: emailId, next: 't2' },
    t2: { type: 'update_contact', actions: [{ op: 'add_tag', tag: 'step2' }], next: 'x' },
    x: { type: 'exit' },
  },
});

async function stepsRun(srv) {
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  return Number((m.match(/^kizuna_journey_steps_total (\d+)/m) || [])[1] || 0);
}

// One run of the chain over `ids`, killed once the run is under way, then resumed: every step
// exactly once. `shift`: how far the manual clock is ahead of the real time now. Returns the
// steps the restarted process ran (0: the kill came too late) and the clock's new shift.
async function killedRun(srv, ids, tag, shift) {
  const N = ids.length;
  const e = await email(srv, tag, 'お知らせ');
  const j = await journey(srv, chain(e.id));
  await activate(srv, j.id);
  await enrolAll(srv, j.id, ids);
  srv.api('POST', '/api/v1/clock', { advance_seconds: DAY + 1 }).catch(() => {}); // not awaited: killed meanwhile
  // /metrics is public, so it does not wait for the event writer the way an API read does
  // (stats could take seconds while the run writes its events, long enough to miss the run)
  const before = await stepsRun(srv);
  await waitFor(async () => (await stepsRun(srv)) > before + 50, { timeout: 30000, interval: 5, what: 'the run under way' });
  await srv.kill9();
  await srv.start();
  // the manual clock starts again at the real time: move it past the day once more
  await advance(srv, shift + DAY + 60);
  await waitFor(async () => (await stats(srv, j.id)).completed === N, { timeout: 90000, interval: 300, what: 'all complete after restart' });
  const after = await stepsRun(srv);
  const s = await stats(srv, j.id);
  for (const step of ['w', 't1', 's', 't2', 'x']) assert.equal(s.steps[step].completed, N, `${step} ran exactly ${N} times`);
  const es = expectStatus(await srv.api('GET', `/api/v1/emails/${e.id}/stats`), 200);
  const rows = (es.sent || 0) + (es.queued || 0) + (es.failed || 0) + Object.values(es.skipped || {}).reduce((a, b) => a + b, 0);
  assert.equal(rows, N, `one send per contact: ${JSON.stringify(es)}`);
  return { after, shift: shift + DAY + 60 };
}

test('kill -9 in the middle of a large run, then restart: no step lost or doubled', async () => {
  // Big enough, in small enough batches, that the kill usually lands mid-run; the whole run
  // takes about a second, so a test process descheduled at the wrong moment can miss it: then
  // the scenario is run again with a fresh journey (each run's counts are checked either way).
  const N = BACKEND === 'postgres' ? 3000 : 4000;
  const srv = await server({ KIZUNA_JOURNEY_BATCH: BACKEND === 'postgres' ? '10' : '5' });
  const ids = await manyContacts(srv, N, `k9${Date.now()}`);
  const ran = [];
  let shift = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    const { after, shift: next } = await killedRun(srv, ids, `k9-${attempt}`, shift);
    shift = next;
    ran.push(after);
    // The restarted process ran some of the steps itself: the kill came in the middle of the run
    // (a check made after the restart would race with the run the restart resumes).
    if (after > 0 && after < 5 * N) break;
  }
  const after = ran[ran.length - 1];
  assert.ok(after > 0 && after < 5 * N, `the restarted servers ran ${ran.join(', ')} of the ${5 * N} steps`);
  const sample = expectStatus(await srv.api('GET', `/api/v1/contacts/${ids[N - 1]}`), 200);
  assert.ok(sample.tags.includes('step1') && sample.tags.includes('step2'));
});

test('two kizuna serve nodes on one PostgreSQL share a journey and run each step once', { skip: BACKEND !== 'postgres' && 'PostgreSQL only' }, async () => {
  const N = 600;
  const hook = await receiver();
  const a = await server({ KIZUNA_JOURNEY_BATCH: '50' });
  const b = await startServer({ dbUrl: a.dbUrl, init: false, apiKey: a.apiKey, env: { KIZUNA_CLOCK: 'manual', KIZUNA_JOURNEY_BATCH: '50' } });
  const ids = await manyContacts(a, N, `two${Date.now()}`);
  const j = await journey(a, {
    triggers: [{ type: 'manual' }], start: 'w',
    steps: {
      w: { type: 'wait', seconds: DAY, next: 'p' },
      p: { type: 'update_contact', actions: [{ op: 'add_points', points: 10 }, { op: 'add_tag', tag: 'both' }], next: 'h' },
      h: { type: 'send_webhook', url: hook.url },
    },
  });
  await activate(a, j.id);
  await enrolAll(a, j.id, ids);
  await Promise.all([advance(a, DAY + 5), advance(b, DAY + 5)]);
  await waitFor(async () => (await stats(a, j.id)).completed === N, { timeout: 60000, interval: 200, what: 'all through on two nodes' });
  await waitFor(() => hook.got.length >= N, { timeout: 60000, interval: 200, what: 'every webhook' });
  await new Promise((r) => setTimeout(r, 500));
  const s = await stats(b, j.id);
  assert.equal(s.steps.p.completed, N);
  assert.equal(s.steps.h.completed, N);
  const deliveries = new Set(hook.got.map((g) => g.headers['x-kizuna-delivery']));
  assert.equal(deliveries.size, N, 'a webhook per contact');
  assert.equal(hook.got.length, N, 'and none twice');
  const steps = async (srv) => Number(/kizuna_journey_steps_total (\d+)/.exec(await (await fetch(`${srv.url}/metrics`)).text())[1]);
  const [na, nb] = [await steps(a), await steps(b)];
  assert.equal(na + nb, 3 * N, `steps by node: ${na} + ${nb}`);
  assert.ok(na > 0 && nb > 0, `both nodes worked: ${na} + ${nb}`);
  for (const id of [ids[0], ids[N >> 1], ids[N - 1]]) {
    const c = expectStatus(await a.api('GET', `/api/v1/contacts/${id}`), 200);
    assert.ok(c.tags.includes('both'));
  }
  await hook.close();
});
