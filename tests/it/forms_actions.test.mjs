// forms_actions.test.mjs — black-box tests of what a form does after a submission: a static
// list, points, an autoresponse through real SMTP (smtp-sink), alerts to a team by email and
// to a Slack-style webhook (a local HTTP receiver), retried when the endpoint fails.

import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { assertError, before, after, describe, expectStatus, startServer, test, uniqueEmail, waitFor } from './harness.mjs';
import { startSink } from './mail.mjs';

let srv, sink, hook;

/** A webhook receiver that records each JSON body; `fail` first answers count 500s. */
function startReceiver() {
  const r = { got: [], fail: 0, url: '' };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (r.fail > 0) {
        r.fail--;
        res.writeHead(500).end('try later');
        return;
      }
      r.got.push({ path: req.url, type: req.headers['content-type'], body: JSON.parse(body) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    r.url = `http://127.0.0.1:${server.address().port}`;
    r.close = () => new Promise((done) => server.close(done));
    resolve(r);
  }));
}

before(async () => {
  sink = await startSink();
  hook = await startReceiver();
  srv = await startServer({
    env: { KIZUNA_SMTP_URL: sink.url, KIZUNA_SMTP_TLS: 'none', KIZUNA_SMTP_RETRY_SECONDS: '1', KIZUNA_ALERT_RETRY_SECONDS: '1' },
  });
  expectStatus(await srv.api('PATCH', '/api/v1/settings', {
    company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1', company_contact: 'support@kizuna.example',
    sender_email: 'news@kizuna.example', sender_name: '絆',
  }), 200);
});
after(async () => {
  await sink?.stop();
  await hook?.close();
});

const fields = [
  { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
  { name: 'last_name', type: 'text', label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
];

async function email(subject, html) {
  return expectStatus(await srv.api('POST', '/api/v1/emails', { name: subject, subject, html }), 201);
}

async function form(actions) {
  return expectStatus(await srv.api('POST', '/api/v1/forms', {
    name: `資料請求 ${randomUUID().slice(0, 6)}`, fields, actions,
    settings: { min_fill_seconds: 0, rate_limit_per_minute: 1000 },
  }), 201);
}

async function submit(f, values) {
  const page = await srv.api('GET', `/f/${f.id}?format=fragment`, undefined, { key: null });
  const t = /name="_kz_t" value="([^"]+)"/.exec(page.text)[1];
  const res = await srv.api('POST', `/f/${f.id}`, undefined, {
    key: null, raw: new URLSearchParams({ ...values, _kz_t: t }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  });
  assert.equal(res.status, 200, res.info);
  return res.json;
}

async function contactByEmail(addr) {
  return expectStatus(await srv.api('GET', `/api/v1/contacts?email=${encodeURIComponent(addr)}`), 200).data[0];
}

describe('form actions', () => {
  test('enroll_journey_puts_the_new_contact_into_an_active_journey_once_per_submission', async () => {
    const j = expectStatus(await srv.api('POST', '/api/v1/journeys', {
      name: `資料請求フォロー ${randomUUID().slice(0, 6)}`,
      definition: {
        triggers: [{ type: 'event', event: 'never_sent_here' }], start: 'w',
        steps: { w: { type: 'wait', seconds: 86400, next: 'x' }, x: { type: 'exit' } },
        settings: { reentry: 'never' },
      },
    }), 201);
    expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/activate`, {}), 200);
    const f = await form([{ type: 'enroll_journey', journey_id: j.id }]);
    const addr = uniqueEmail('journey');
    await submit(f, { email: addr, last_name: '佐藤' });
    await submit(f, { email: addr, last_name: '佐藤' }); // re-entry "never": still one entry
    const c = await contactByEmail(addr);
    const where = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/journeys`), 200).data;
    const mine = where.filter((e) => e.journey_id === j.id);
    assert.equal(mine.length, 1, JSON.stringify(where));
    assert.equal(mine[0].state, 'active');
    assert.equal(mine[0].step, 'w');
    // a paused journey takes nobody, and the submission still stands
    expectStatus(await srv.api('POST', `/api/v1/journeys/${j.id}/pause`, {}), 200);
    const other = uniqueEmail('journey-paused');
    await submit(f, { email: other, last_name: '鈴木' });
    const c2 = await contactByEmail(other);
    assert.ok(c2, 'the contact exists');
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/contacts/${c2.id}/journeys`), 200).data.length, 0);
  });

  test('a_submission_joins_a_list_gets_points_an_autoresponse_and_alerts_the_team', async () => {
    const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: `資料請求者 ${randomUUID().slice(0, 6)}`, type: 'static' }), 201);
    const auto = await email('資料をお送りします', '<p>{{ contact.last_name }}様、資料請求ありがとうございます。</p>');
    const alert = await email('新しい資料請求: {{ contact.email }}', '<p>{{ contact.last_name }} さんから資料請求がありました。</p>');
    const f = await form([
      { type: 'add_to_list', list_id: list.id },
      { type: 'add_points', points: 15 },
      { type: 'send_autoresponse', email_id: auto.id },
      { type: 'notify', to: ['sales@kizuna.example'], email_id: alert.id, webhook_url: `${hook.url}/slack/T1` },
    ]);
    const addr = uniqueEmail('lead');
    const before = sink.files().length;
    await submit(f, { email: addr, last_name: '山田' });
    const c = await contactByEmail(addr);
    assert.ok(c, 'the contact exists');

    // smtp-sink writes a file as a message comes in: wait until both are whole
    const mineNow = () => sink.messages().filter((m) => (m.get('To') || '').includes(addr) || m.subject.includes(addr));
    await waitFor(() => {
      const s = mineNow().map((m) => m.subject);
      return s.includes('資料をお送りします') && s.includes(`新しい資料請求: ${addr}`);
    }, { timeout: 15000, what: 'autoresponse and alert at smtp-sink' });
    assert.ok(sink.files().length >= before + 2);
    const mine = mineNow();
    const subjects = mine.map((m) => m.subject);
    assert.ok(subjects.includes('資料をお送りします'), `autoresponse subject in ${subjects}`);
    assert.ok(subjects.includes(`新しい資料請求: ${addr}`), `alert subject in ${subjects}`);
    const toSales = mine.find((m) => m.subject.startsWith('新しい資料請求'));
    assert.match(toSales.get('To'), /sales@kizuna\.example/);
    assert.match(mine.find((m) => m.subject === '資料をお送りします').get('To'), new RegExp(addr.replace(/[.+]/g, '\\$&')));

    await waitFor(() => hook.got.some((g) => g.body.contact?.email === addr), { timeout: 10000, what: 'the webhook alert' });
    const got = hook.got.find((g) => g.body.contact.email === addr);
    assert.equal(got.path, '/slack/T1');
    assert.match(got.type, /application\/json/);
    assert.match(got.body.text, new RegExp(addr.replace(/[.+]/g, '\\$&')));
    assert.equal(got.body.event, 'form_submitted');
    assert.equal(got.body.form.id, f.id);
    assert.equal(got.body.data.last_name, '山田');

    await waitFor(async () => {
      const m = expectStatus(await srv.api('GET', `/api/v1/segments/${list.id}/members?limit=100`), 200);
      return m.data.some((x) => x.id === c.id);
    }, { what: 'the contact in the static list' });
    await waitFor(async () => {
      const x = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}`), 200);
      return x.scores?.engagement >= 15;
    }, { what: '15 engagement points' });
    const hist = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/scores`), 200);
    assert.ok(JSON.stringify(hist).includes('submitted form'), JSON.stringify(hist));

    // the alert email is the team's, not the lead's: not on the lead's timeline
    const sends = expectStatus(await srv.api('GET', `/api/v1/emails/${alert.id}/stats`), 200);
    assert.equal(sends.sent ?? 0, 0, 'alerts do not count as sends of a campaign');
  });

  test('a_failing_webhook_is_retried_until_it_answers', async () => {
    hook.fail = 2;
    const f = await form([{ type: 'notify', webhook_url: `${hook.url}/retry` }]);
    const addr = uniqueEmail('retry');
    await submit(f, { email: addr });
    await waitFor(() => hook.got.some((g) => g.path === '/retry' && g.body.contact.email === addr),
      { timeout: 20000, what: 'the alert after two failures' });
    assert.equal(hook.fail, 0);
    const alerts = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}/alerts`), 200);
    assert.equal(alerts.data[0].status, 'sent');
    assert.equal(alerts.data[0].attempts, 3);
  });

  test('double_opt_in_mails_a_confirmation_and_keeps_consent_pending_until_confirmed', async (t) => {
    const body = {
      name: `メルマガ登録 ${randomUUID().slice(0, 6)}`, fields,
      settings: { min_fill_seconds: 0, rate_limit_per_minute: 1000, double_opt_in: true },
    };
    const r = await srv.api('POST', '/api/v1/forms', body);
    if (r.status === 422 && r.json?.error?.code === 'not_available') {
      // This build has no double opt-in (src/channel/optin.h, the email module's): the form
      // side refuses the setting instead of ignoring it. The rest of this test runs once it has.
      assertError(r, 422, 'not_available', 'settings.double_opt_in');
      t.skip('double opt-in is not in this build (kz_email_double_optin_send)');
      return;
    }
    const f = expectStatus(r, 201);
    const addr = uniqueEmail('doi');
    await submit(f, { email: addr });
    await waitFor(() => sink.messages().some((m) => (m.get('To') || '').includes(addr)), { timeout: 15000, what: 'the confirmation mail' });
    const msg = sink.messages().find((m) => (m.get('To') || '').includes(addr));
    const link = /https?:\/\/[^\s"<>]+\/u\/[^\s"<>]+\/confirm/.exec(msg.htmlPart?.text || msg.textPart?.text || '')?.[0];
    assert.ok(link, 'the mail links /u/{token}/confirm');
    const c = await contactByEmail(addr);
    let consent = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/consent`), 200).consent.email;
    assert.equal(consent.status, 'pending');
    assert.equal(consent.source, `form:${f.id}`);
    const u = new URL(link);
    const ok = await srv.api('POST', u.pathname, undefined, { key: null, raw: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.ok(ok.status < 400, ok.info);
    consent = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/consent`), 200).consent.email;
    assert.equal(consent.status, 'granted');
  });

  test('actions_naming_what_does_not_exist_or_fits_not_are_refused', async () => {
    const dyn = expectStatus(await srv.api('POST', '/api/v1/segments', { name: `dyn ${randomUUID().slice(0, 6)}`, filter: { all: [{ field: 'email', op: 'contains', value: '@' }] } }), 201);
    const base = { name: 'x', fields };
    const bad = async (actions, code = 'invalid_field', field = undefined) => {
      const r = await srv.api('POST', '/api/v1/forms', { ...base, actions });
      assertError(r, 422, code, field);
      return r.json.error.message;
    };
    assert.match(await bad([{ type: 'add_to_list', list_id: dyn.id }], 'invalid_field', 'actions'), /dynamic/);
    assert.match(await bad([{ type: 'add_to_list', list_id: 999999 }], 'invalid_field', 'actions'), /does not exist/);
    assert.match(await bad([{ type: 'send_autoresponse', email_id: 999999 }], 'invalid_field', 'actions'), /does not exist/);
    await bad([{ type: 'add_points', points: 0 }], 'invalid_field', 'actions[0]');
    await bad([{ type: 'add_points', points: 'ten' }], 'invalid_field', 'actions[0]');
    await bad([{ type: 'notify' }], 'invalid_field', 'actions[0]');
    await bad([{ type: 'notify', to: ['not-an-address'], email_id: 1 }], 'invalid_field', 'actions[0]');
    await bad([{ type: 'notify', to: ['a@kizuna.example'] }], 'invalid_field', 'actions[0]');
    await bad([{ type: 'notify', webhook_url: 'ftp://x' }], 'invalid_field', 'actions[0]');
    assert.match(await bad([{ type: 'enroll_journey', journey_id: 999999 }], 'invalid_field', 'actions'), /does not exist/);
    await bad([{ type: 'explode' }], 'invalid_field', 'actions[0]');
    const n = expectStatus(await srv.api('GET', '/api/v1/forms'), 200).data.filter((x) => x.name === 'x').length;
    assert.equal(n, 0, 'nothing was stored');
  });
});
