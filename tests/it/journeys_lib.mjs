// journeys_lib.mjs — helpers shared by the journey black-box tests: servers with the manual
// clock, contacts, emails, journeys, moving the clock, and a local HTTP receiver that stands
// in for Slack and webhook URLs.

import assert from 'node:assert/strict';
import http from 'node:http';
import { expectStatus, startServer } from './harness.mjs';

export const FOOTER = { company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1', company_contact: 'support@kizuna.example' };
export const DAY = 86400;

export async function server(env = {}, opts = {}) {
  const srv = await startServer({ env: { KIZUNA_CLOCK: 'manual', ...env }, ...opts });
  expectStatus(await srv.api('PATCH', '/api/v1/settings', {
    ...FOOTER, sender_email: 'news@kizuna.example', sender_name: '絆',
  }), 200);
  return srv;
}

export async function mailServer(sink, env = {}) {
  return server({ KIZUNA_SMTP_URL: sink.url, KIZUNA_SMTP_TLS: 'none', KIZUNA_SMTP_RETRY_SECONDS: '1', ...env });
}

export async function contact(srv, email, extra = {}) {
  const r = await srv.api('POST', '/api/v1/contacts', { email, ...extra });
  assert.ok(r.status === 201 || r.status === 200, r.info);
  return r.json;
}

export async function email(srv, name, subject) {
  return expectStatus(await srv.api('POST', '/api/v1/emails', {
    name, subject, html: `<p>${subject} {{ contact.first_name }}</p><p><a href="https://example.jp/x">詳しく</a></p>`,
  }), 201);
}

export async function journey(srv, definition, name = 'シナリオ') {
  return expectStatus(await srv.api('POST', '/api/v1/journeys', { name, definition }), 201);
}

export async function activate(srv, id) {
  return expectStatus(await srv.api('POST', `/api/v1/journeys/${id}/activate`), 200);
}

export async function advance(srv, seconds) {
  return expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: seconds }), 200);
}

export async function track(srv, contactId, event, properties = {}) {
  const r = await srv.api('POST', '/api/v1/events', { type: 'track', event, contactId, properties });
  assert.ok(r.status === 200 || r.status === 202, r.info);
}

export async function where(srv, contactId) {
  return expectStatus(await srv.api('GET', `/api/v1/contacts/${contactId}/journeys`), 200).data;
}

export async function stats(srv, id) {
  return expectStatus(await srv.api('GET', `/api/v1/journeys/${id}/stats`), 200);
}

/** A local HTTP receiver that records what it got (stands in for Slack and webhook URLs). */
export async function receiver({ failFirst = 0 } = {}) {
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

export const simple = (emailId) => ({
  triggers: [{ type: 'manual' }],
  start: 's1',
  steps: { s1: { type: 'send_email', email_id: emailId, next: 'done', ui: { x: 10, y: 20 }, label: '最初のメール' }, done: { type: 'exit' } },
  settings: { reentry: 'never' },
});

