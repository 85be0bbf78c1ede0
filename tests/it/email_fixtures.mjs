// email_fixtures.mjs — what the email black-box tests share: a server sending to smtp-sink with
// the sender footer set, contacts, a Japanese newsletter, waiting for a broadcast, DKIM keys.

import assert from 'node:assert/strict';
import path from 'node:path';
import { expectStatus, runCli, startServer, tempDir, waitFor } from './harness.mjs';

export const FOOTER = { company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1', company_contact: 'support@kizuna.example' };

export async function keygen(type) {
  const dir = tempDir('kz-dkim-');
  const out = path.join(dir, `${type}.pem`);
  const r = await runCli(['dkim-keygen', '--type', type, '--selector', 'sel1', '--domain', 'kizuna.example', '--out', out]);
  assert.equal(r.code, 0, r.info);
  const txt = /"(v=DKIM1;[^"]+)"/.exec(r.stdout)[1];
  return { file: out, txt };
}

export async function mailServer(sink, env = {}) {
  const srv = await startServer({
    env: {
      KIZUNA_SMTP_URL: sink ? sink.url : 'smtp://127.0.0.1:1', KIZUNA_SMTP_TLS: 'none',
      KIZUNA_SMTP_RETRY_SECONDS: '1', KIZUNA_SMTP_CONNECTIONS: '2', ...env,
    },
  });
  expectStatus(await srv.api('PATCH', '/api/v1/settings', {
    ...FOOTER, sender_email: 'news@kizuna.example', sender_name: '絆ニュース',
  }), 200);
  return srv;
}

export async function contact(srv, email, extra = {}) {
  const r = await srv.api('POST', '/api/v1/contacts', { email, ...extra });
  assert.ok(r.status === 201 || r.status === 200, r.info);
  return r.json;
}

export async function newsletter(srv, extra = {}) {
  return expectStatus(await srv.api('POST', '/api/v1/emails', {
    name: '11月のメルマガ',
    subject: '{{ contact.last_name }}様、11月のお知らせ【絆】',
    preheader: '今月の新機能',
    html: '<html><body><h1>こんにちは {{ contact.first_name | default: "お客様" }}さん</h1>' +
      '<p>{{ contact.fields.plan | upcase }} プランのご案内</p>' +
      '<p><a href="https://www.example.jp/campaign?a=1&b=2">詳しくはこちら</a></p></body></html>',
    topic: 'news',
    ...extra,
  }), 201);
}

export async function broadcastDone(srv, id, timeout = 20000) {
  let bc;
  await waitFor(async () => {
    bc = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${id}`), 200);
    return bc.status === 'sent';
  }, { timeout, what: `broadcast ${id} sent` });
  return bc;
}

/** The link in a message, moved to the server's current address. */
export function local(srv, url) {
  const u = new URL(url);
  return srv.url + u.pathname + u.search;
}
