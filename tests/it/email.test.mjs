// email.test.mjs — black-box tests of email through a real SMTP server (smtp-sink): MIME,
// RFC 2047 Japanese headers, DKIM (verified with OpenSSL via node:crypto), List-Unsubscribe,
// tracked links, one-click unsubscribe, skip reasons, bounces piped to `kizuna bounce`, SMTP
// down then up, and kill -9 mid-broadcast.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  assertError, expectStatus, runCli, startServer, tempDir, test, uniqueEmail, waitFor,
} from './harness.mjs';
import { freePort, parseMessage, publicKeyFromTxt, startSink, verifyDkim } from './mail.mjs';

const FOOTER = { company_name: '株式会社絆', company_address: '東京都千代田区丸の内1-1-1', company_contact: 'support@kizuna.example' };

async function keygen(type) {
  const dir = tempDir('kz-dkim-');
  const out = path.join(dir, `${type}.pem`);
  const r = await runCli(['dkim-keygen', '--type', type, '--selector', 'sel1', '--domain', 'kizuna.example', '--out', out]);
  assert.equal(r.code, 0, r.info);
  const txt = /"(v=DKIM1;[^"]+)"/.exec(r.stdout)[1];
  return { file: out, txt };
}

async function mailServer(sink, env = {}) {
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

async function contact(srv, email, extra = {}) {
  const r = await srv.api('POST', '/api/v1/contacts', { email, ...extra });
  assert.ok(r.status === 201 || r.status === 200, r.info);
  return r.json;
}

async function newsletter(srv, extra = {}) {
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

async function broadcastDone(srv, id, timeout = 20000) {
  let bc;
  await waitFor(async () => {
    bc = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${id}`), 200);
    return bc.status === 'sent';
  }, { timeout, what: `broadcast ${id} sent` });
  return bc;
}

/** The link in a message, moved to the server's current address. */
function local(srv, url) {
  const u = new URL(url);
  return srv.url + u.pathname + u.search;
}

test('email_reaches_smtp_with_mime_japanese_headers_dkim_and_unsubscribe_headers', async () => {
  const sink = await startSink();
  const key = await keygen('rsa');
  const srv = await mailServer(sink, {
    KIZUNA_DKIM_KEY: key.file, KIZUNA_DKIM_DOMAIN: 'kizuna.example', KIZUNA_DKIM_SELECTOR: 'sel1',
  });
  const to = uniqueEmail('taro');
  const c = await contact(srv, to, { first_name: '太郎', last_name: '山田', tags: ['news'], fields: {} });
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag: 'news' }), 201);
  assert.equal(bc.status, 'scheduled');
  await broadcastDone(srv, bc.id);
  await waitFor(() => sink.files().length >= 1, { what: 'the message at smtp-sink' });
  const [msg] = sink.messages();

  // envelope: a VERP return path; the recipient
  assert.match(msg.get('X-Mail-Args'), /^<bounce\+\d+-\d+-[0-9a-f]{32}@kizuna\.example>/);
  assert.equal(msg.get('X-Rcpt-Args'), `<${to}>`);
  // headers
  assert.equal(msg.subject, '山田様、11月のお知らせ【絆】');
  assert.match(msg.get('Subject'), /^=\?UTF-8\?B\?/);
  assert.match(msg.get('From'), /^=\?UTF-8\?B\?.+\?= <news@kizuna\.example>$/);
  assert.match(msg.get('Message-ID'), /^<kz\.\d+\.[0-9a-f]{12}@kizuna\.example>$/);
  assert.match(msg.get('Date'), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/);
  assert.equal(msg.get('MIME-Version'), '1.0');
  const lu = msg.get('List-Unsubscribe');
  assert.match(lu, /^<http:\/\/127\.0\.0\.1:\d+\/u\/[^>]+>, <mailto:unsubscribe\+[^>]+@kizuna\.example>$/);
  assert.equal(msg.get('List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
  assert.equal(msg.contentType, 'multipart/alternative');
  assert.ok(msg.closed, 'the multipart is closed with its final boundary');
  for (const line of msg.raw.toString('latin1').split('\r\n')) assert.ok(line.length <= 998, 'a line is longer than 998');
  // both parts, decoded
  assert.ok(['base64', 'quoted-printable'].includes(msg.textPart.encoding));
  assert.match(msg.textPart.text, /こんにちは 太郎さん/);
  assert.match(msg.textPart.text, /株式会社絆/); // the sender identity footer
  assert.match(msg.htmlPart.text, /<h1>こんにちは 太郎さん<\/h1>/);
  assert.match(msg.htmlPart.text, /東京都千代田区丸の内1-1-1/);
  assert.match(msg.htmlPart.text, /display:none[^>]*>今月の新機能</);
  // DKIM verifies with the published key
  const tags = verifyDkim(msg, publicKeyFromTxt(key.txt));
  assert.equal(tags.a, 'rsa-sha256');
  assert.equal(tags.d, 'kizuna.example');
  assert.match(tags.h, /from:to:subject:date:message-id/);

  await new Promise((r) => setTimeout(r, 3100)); // past the machine window after sending
  // tracked link: redirects to exactly the URL in the message, refuses a changed one
  const href = /href="([^"]*\/t\/c\/[^"]+)"/.exec(msg.htmlPart.text)[1].replace(/&amp;/g, '&');
  const click = await fetch(local(srv, href), { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Safari/605.1.15' } });
  assert.equal(click.status, 302);
  // the landing URL is the message's, plus kz_ct: kz.js there names its visitor with it
  const landing = new URL(click.headers.get('location'));
  assert.equal(landing.origin + landing.pathname, 'https://www.example.jp/campaign');
  assert.equal(landing.searchParams.get('a'), '1');
  assert.equal(landing.searchParams.get('b'), '2');
  const ct = landing.searchParams.get('kz_ct');
  assert.match(ct, new RegExp(`^${c.id}\\.\\d+\\.[0-9a-f]{32}$`));
  // a click identifies the browser's visitor: through kz.js's call on the landing page ...
  const vid = `v-${Date.now()}-landing`;
  const idr = await fetch(`${srv.url}/t/id`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ ct, anonymousId: vid }) });
  assert.equal(idr.status, 204);
  const visitorsOf = async (id) => expectStatus(await srv.api('GET', `/api/v1/visitors?contact_id=${id}`), 200).data.map((v) => v.anonymous_id);
  assert.ok((await visitorsOf(c.id)).includes(vid));
  // ... refusing a forged or changed token (and changing nothing)
  const forged = ct.replace(/^\d+/, String(c.id + 1));
  const tid = async (body) => {
    const r = await fetch(`${srv.url}/t/id`, { method: 'POST', body: JSON.stringify(body) });
    return { status: r.status, json: await r.json(), info: `POST /t/id → ${r.status}` };
  };
  assertError(await tid({ ct: forged, anonymousId: `${vid}-x` }), 404, 'not_found', 'ct');
  assert.ok(!(await visitorsOf(c.id + 1)).includes(`${vid}-x`));
  assertError(await tid({ ct }), 422, 'invalid_field', 'anonymousId');
  // ... and through the kz_vid cookie when the tracker shares the site's domain
  const cvid = `v-${Date.now()}-cookie`;
  const click2 = await fetch(local(srv, href), { redirect: 'manual', headers: { cookie: `kz_vid=${cvid}`, 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36' } });
  assert.equal(click2.status, 302);
  await waitFor(async () => (await visitorsOf(c.id)).includes(cvid), { what: 'the cookie visitor tied to the contact' });
  const evil = local(srv, href).replace(/u=[^&]+/, `u=${encodeURIComponent('https://evil.example/')}`);
  assert.equal((await fetch(evil, { redirect: 'manual' })).status, 404);
  // open pixel
  const pix = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(msg.htmlPart.text)[1];
  const open = await fetch(local(srv, pix), { headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36' } });
  assert.equal(open.status, 200);
  assert.equal(open.headers.get('content-type'), 'image/gif');
  await fetch(local(srv, pix), { headers: { 'user-agent': 'Mozilla/5.0' } }); // Apple MPP
  const st = expectStatus(await srv.api('GET', `/api/v1/emails/${email.id}/stats`), 200);
  assert.equal(st.sent, 1);
  assert.equal(st.delivered, 1);
  assert.deepEqual(st.opened, { unique: 1, total: 1, machine: 1 });
  assert.equal(st.clicked.unique, 1);
  assert.deepEqual(st.clicked.links, [{ url: 'https://www.example.jp/campaign?a=1&b=2', total: 2, unique: 1 }]);

  // one-click unsubscribe (RFC 8058) from the List-Unsubscribe URL
  const unsubUrl = local(srv, /<(http[^>]+)>/.exec(lu)[1]);
  const page = await fetch(unsubUrl, { headers: { 'accept-language': 'ja' } });
  assert.match(await page.text(), /配信停止/);
  const post = await fetch(unsubUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  assert.equal(post.status, 200);
  const consent = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/consent`), 200);
  assert.deepEqual(consent.unsubscribed, ['']);
  const bogus = await fetch(unsubUrl.replace(/.$/, (ch) => (ch === '0' ? '1' : '0')), { method: 'POST', body: 'List-Unsubscribe=One-Click' });
  assert.equal(bogus.status, 404);
  const st2 = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}`), 200).stats;
  assert.equal(st2.unsubscribed, 1);
  // the timeline has the email events with their props
  const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/timeline?limit=50`), 200);
  const names = tl.data.map((e) => e.name);
  for (const n of ['email_sent', 'email_opened', 'email_clicked', 'email_unsubscribed']) assert.ok(names.includes(n), `timeline lacks ${n}: ${names}`);
  const sent = tl.data.find((e) => e.name === 'email_sent');
  assert.equal(sent.properties.email_id, email.id);
  assert.equal(sent.properties.broadcast_id, bc.id);
  assert.equal(tl.data.find((e) => e.name === 'email_clicked').properties.url, 'https://www.example.jp/campaign?a=1&b=2');
  await sink.stop();
});

test('ed25519_dkim_and_test_sends_with_preview', async () => {
  const sink = await startSink();
  const key = await keygen('ed25519');
  const srv = await mailServer(sink, {
    KIZUNA_DKIM_KEY: key.file, KIZUNA_DKIM_DOMAIN: 'kizuna.example', KIZUNA_DKIM_SELECTOR: 'sel1',
  });
  const c = await contact(srv, uniqueEmail('hanako'), { first_name: '花子', last_name: '佐藤', fields: {} });
  const email = await newsletter(srv);
  const pv = expectStatus(await srv.api('POST', `/api/v1/emails/${email.id}/preview`, { contact_id: c.id }), 200);
  assert.equal(pv.subject, '佐藤様、11月のお知らせ【絆】');
  assert.match(pv.html, /こんにちは 花子さん/);
  assert.match(pv.text, /詳しくはこちら \(https:\/\/www\.example\.jp\/campaign\?a=1&b=2\)/);
  const sample = expectStatus(await srv.api('POST', `/api/v1/emails/${email.id}/preview`, {}), 200);
  assert.match(sample.subject, /^山田様/);
  const t = expectStatus(await srv.api('POST', `/api/v1/emails/${email.id}/test`, { to: ['qa@example.jp'], contact_id: c.id }), 202);
  assert.equal(t.send_ids.length, 1);
  await waitFor(() => sink.files().length === 1, { what: 'the test message' });
  const [msg] = sink.messages();
  assert.equal(msg.get('X-Rcpt-Args'), '<qa@example.jp>');
  assert.equal(msg.subject, '佐藤様、11月のお知らせ【絆】');
  assert.equal(verifyDkim(msg, publicKeyFromTxt(key.txt)).a, 'ed25519-sha256');
  // test sends are not counted in the email's stats
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/emails/${email.id}/stats`), 200).sent, 0);
  // template errors answer 422 with line and column; nothing is saved
  const bad = await srv.api('PATCH', `/api/v1/emails/${email.id}`, { html: '<p>\n  {% if x %}oops' });
  assertError(bad, 422, 'template_error', 'html');
  assert.match(bad.json.error.message, /line 2, column 6/);
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/emails/${email.id}`), 200).html, email.html);
  await sink.stop();
});

test('broadcast_skips_unsubscribed_bounced_duplicate_and_no_consent_contacts', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  expectStatus(await srv.api('PATCH', '/api/v1/settings', { email_require_consent: 'true' }), 200);
  const tag = `list-${Date.now()}`;
  const base = uniqueEmail('ok');
  const [user, domain] = base.split('@');
  const ok = await contact(srv, base, { tags: [tag] });
  const dup = await contact(srv, `${user}+promo@${domain}`, { tags: [tag] });
  const unsub = await contact(srv, uniqueEmail('unsub'), { tags: [tag] });
  const bounced = await contact(srv, uniqueEmail('bounced'), { tags: [tag] });
  const noConsent = await contact(srv, uniqueEmail('noconsent'), { tags: [tag] });
  for (const x of [ok, dup, unsub, bounced]) {
    expectStatus(await srv.api('PUT', `/api/v1/contacts/${x.id}/consent`, { email: { status: 'granted', source: 'form:3' } }), 200);
  }
  expectStatus(await srv.api('PATCH', `/api/v1/contacts/${unsub.id}/subscriptions`, { unsubscribe: '' }), 200);
  const dsn = dsnFor(bounced.email, '', '5.1.1');
  const b = expectStatus(await srv.api('POST', '/api/v1/bounces', undefined, { raw: dsn, headers: { 'content-type': 'message/rfc822' } }), 201);
  assert.equal(b.kind, 'hard');
  assert.equal(b.suppressed, true);
  const email = await newsletter(srv);
  const est = expectStatus(await srv.api('POST', '/api/v1/broadcasts/estimate', { email_id: email.id, tag }), 200);
  assert.deepEqual(est, { recipients: 1, total: 5, skipped: { bounced: 1, duplicate: 1, no_consent: 1, unsubscribed: 1 } });
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  const done = await broadcastDone(srv, bc.id);
  assert.equal(done.recipients, 1);
  assert.deepEqual(done.stats.skipped, { bounced: 1, duplicate: 1, no_consent: 1, unsubscribed: 1 });
  assert.equal(done.stats.sent, 1);
  await new Promise((r) => setTimeout(r, 500));
  const msgs = sink.messages();
  assert.deepEqual(msgs.map((m) => m.get('X-Rcpt-Args')), [`<${ok.email}>`]);
  // a bad broadcast changes nothing
  assertError(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id }), 422, 'invalid_field', 'segment_id');
  assertError(await srv.api('POST', '/api/v1/broadcasts', { email_id: 999999, tag }), 422, 'invalid_field', 'email_id');
  assert.equal(expectStatus(await srv.api('GET', '/api/v1/broadcasts'), 200).data.length, 1);
  await sink.stop();
});

test('broadcast_to_a_segment_reaches_its_members_and_an_unknown_segment_is_422', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  const plan = `plan-${Date.now()}`;
  const a = await contact(srv, uniqueEmail('seg-a'), { tags: [plan] });
  const b = await contact(srv, uniqueEmail('seg-b'), { tags: [plan] });
  await contact(srv, uniqueEmail('seg-out'));
  // a dynamic segment (tags contain the plan) and a static list holding only b
  const seg = expectStatus(await srv.api('POST', '/api/v1/segments', {
    name: 'プラン契約者', filter: { field: 'tags', op: 'contains', value: plan },
  }), 201);
  const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: 'セミナー参加者', type: 'static' }), 201);
  expectStatus(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [b.id], mode: 'append' }), 200);
  const email = await newsletter(srv);
  const est = expectStatus(await srv.api('POST', '/api/v1/broadcasts/estimate', { email_id: email.id, segment_id: seg.id }), 200);
  assert.equal(est.recipients, 2);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, segment_id: seg.id }), 201);
  assert.equal(bc.segment_id, seg.id);
  assert.equal((await broadcastDone(srv, bc.id)).stats.sent, 2);
  const bl = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, segment_id: list.id }), 201);
  assert.equal((await broadcastDone(srv, bl.id)).stats.sent, 1);
  await waitFor(() => sink.messages().length === 3, { timeout: 10000, what: 'three messages at the sink' });
  const rcpts = sink.messages().map((m) => m.get('X-Rcpt-Args')).sort();
  assert.deepEqual(rcpts, [`<${a.email}>`, `<${b.email}>`, `<${b.email}>`].sort());
  assertError(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, segment_id: 99999999 }), 422, 'invalid_field', 'segment_id');
  assert.equal(expectStatus(await srv.api('GET', '/api/v1/broadcasts'), 200).data.length, 2);
  await sink.stop();
});

/** A DSN (RFC 3464) for `rcpt`, quoting the original headers (with X-Kizuna-Send when given). */
function dsnFor(rcpt, originalHeaders, status) {
  return [
    'From: MAILER-DAEMON@mx.example.jp', 'To: bounce+unknown@kizuna.example', 'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"', '',
    '--BOUND', 'Content-Type: text/plain', '', 'Your message could not be delivered.', '',
    '--BOUND', 'Content-Type: message/delivery-status', '',
    'Reporting-MTA: dns; mx.example.jp', '', `Final-Recipient: rfc822; ${rcpt}`, 'Action: failed',
    `Status: ${status}`, `Diagnostic-Code: smtp; 550 ${status} User unknown`, '',
    '--BOUND', 'Content-Type: text/rfc822-headers', '', originalHeaders || `To: ${rcpt}`, '',
    '--BOUND--', '',
  ].join('\r\n');
}

test('dsn_piped_to_kizuna_bounce_and_arf_complaint', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  const tag = `b-${Date.now()}`;
  const gone = await contact(srv, uniqueEmail('gone'), { tags: [tag] });
  const angry = await contact(srv, uniqueEmail('angry'), { tags: [tag] });
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  await broadcastDone(srv, bc.id);
  await waitFor(() => sink.files().length === 2, { what: 'two messages' });
  const byRcpt = Object.fromEntries(sink.messages().map((m) => [m.get('X-Rcpt-Args').slice(1, -1), m]));
  const headersOf = (m) => m.raw.toString('latin1').split('\r\n\r\n')[0].split('\r\n').filter((l) => !/^X-(Client|Helo|Mail|Rcpt)|^Received|^\s/.test(l)).join('\r\n');
  // the DSN names a different address on purpose: the X-Kizuna-Send reference wins
  const r = await runCli(['bounce', '--db', srv.dbUrl], { input: dsnFor('rewritten@mx.example.jp', headersOf(byRcpt[gone.email]), '5.1.1') });
  assert.equal(r.code, 0, r.info);
  assert.equal(r.json.kind, 'hard');
  assert.equal(r.json.contact_id, gone.id);
  assert.equal(r.json.recipient, gone.email);
  assert.equal(r.json.suppressed, true);
  const notReport = await runCli(['bounce', '--db', srv.dbUrl], { input: 'Subject: hello\r\n\r\nnot a report\r\n' });
  assert.equal(notReport.code, 65, notReport.info);
  // an ARF complaint unsubscribes
  const arf = [
    'From: fbl@isp.example', 'To: fbl@kizuna.example', 'Subject: complaint', 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=feedback-report; boundary="F"', '',
    '--F', 'Content-Type: text/plain', '', 'A complaint.', '',
    '--F', 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'User-Agent: isp/1.0', 'Version: 1', `Original-Rcpt-To: ${angry.email}`, '',
    '--F', 'Content-Type: message/rfc822', '', headersOf(byRcpt[angry.email]), '', 'body', '', '--F--', '',
  ].join('\r\n');
  const a = expectStatus(await srv.api('POST', '/api/v1/bounces', undefined, { raw: arf, headers: { 'content-type': 'message/rfc822' } }), 201);
  assert.equal(a.kind, 'complaint');
  assert.equal(a.contact_id, angry.id);
  assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/contacts/${angry.id}/consent`), 200).unsubscribed, ['']);
  const st = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}`), 200).stats;
  assert.equal(st.bounced.hard, 1);
  assert.equal(st.complained, 1);
  assert.equal(st.delivered, 1);
  const sup = expectStatus(await srv.api('GET', '/api/v1/suppressions'), 200).data.map((s) => [s.email, s.reason]).sort();
  assert.deepEqual(sup, [[angry.email, 'complaint'], [gone.email, 'hard_bounce']].sort());
  const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${gone.id}/timeline?limit=50`), 200);
  assert.ok(tl.data.some((e) => e.name === 'email_bounced' && e.properties.broadcast_id === bc.id));
  assertError(await srv.api('POST', '/api/v1/bounces', undefined, { raw: 'garbage', headers: { 'content-type': 'message/rfc822' } }), 422, 'invalid_report');
  await sink.stop();
});

test('smtp_down_then_up_loses_nothing_and_doubles_nothing', async () => {
  const port = await freePort();
  const srv = await mailServer({ url: `smtp://127.0.0.1:${port}` });
  const tag = `down-${Date.now()}`;
  const people = [];
  for (let i = 0; i < 6; i++) people.push(await contact(srv, uniqueEmail(`d${i}`), { tags: [tag] }));
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  await waitFor(async () => {
    const s = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}/sends?limit=50`), 200).data;
    return s.length === 6 && s.every((x) => x.attempts >= 1 && x.status === 'queued');
  }, { timeout: 15000, what: 'every send tried once and queued again' });
  const sink = await startSink(port);
  await broadcastDone(srv, bc.id, 30000);
  await new Promise((r) => setTimeout(r, 500));
  const rcpts = sink.messages().map((m) => m.get('X-Rcpt-Args')).sort();
  assert.deepEqual(rcpts, people.map((p) => `<${p.email}>`).sort());
  await sink.stop();
});

test('double_opt_in_mails_a_signed_confirmation_records_consent_and_holds_broadcasts', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink);
  await assertError(await srv.api('PATCH', '/api/v1/settings', { email_double_optin: 'yes' }), 422, 'invalid_field', 'email_double_optin');
  expectStatus(await srv.api('PATCH', '/api/v1/settings', { email_double_optin: 'true' }), 200);
  const tag = `doi-${Date.now()}`;
  const confirmed = await contact(srv, uniqueEmail('doi-yes'), { last_name: '佐藤', tags: [tag] });
  const waiting = await contact(srv, uniqueEmail('doi-wait'), { tags: [tag] });
  const granted = await contact(srv, uniqueEmail('doi-old'), { tags: [tag] });
  expectStatus(await srv.api('PUT', `/api/v1/contacts/${granted.id}/consent`, { email: { status: 'granted', source: 'import' } }), 200);
  await assertError(await srv.api('POST', `/api/v1/contacts/${confirmed.id}/consent/confirmation`, { source: 3 }), 422, 'invalid_field', 'source');
  await assertError(await srv.api('POST', '/api/v1/contacts/999999/consent/confirmation', {}), 404, 'not_found');
  const req = expectStatus(await srv.api('POST', `/api/v1/contacts/${confirmed.id}/consent/confirmation`, { source: 'form:3' }), 202);
  assert.equal(typeof req.send_id, 'number');
  assert.equal(req.consent.email.status, 'pending');
  assert.equal(req.consent.email.source, 'form:3');
  assert.equal(req.consent.email.confirmed_at, null);
  // a second request in the same hour mails nothing more
  assert.equal(expectStatus(await srv.api('POST', `/api/v1/contacts/${confirmed.id}/consent/confirmation`, { source: 'form:3' }), 202).send_id, null);
  expectStatus(await srv.api('POST', `/api/v1/contacts/${waiting.id}/consent/confirmation`), 202);
  // already granted: no confirmation mail
  assert.equal(expectStatus(await srv.api('POST', `/api/v1/contacts/${granted.id}/consent/confirmation`), 202).send_id, null);
  await waitFor(() => sink.files().length >= 2, { what: 'two confirmation mails' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sink.files().length, 2);
  const msg = sink.messages().find((m) => m.get('X-Rcpt-Args') === `<${confirmed.email}>`);
  assert.equal(msg.subject, 'メールアドレスのご確認 / Please confirm your subscription');
  assert.match(msg.htmlPart.text, /佐藤 様/);
  assert.match(msg.textPart.text, /株式会社絆/); // the sender footer is on this mail too
  // the button links straight to the signed confirmation page (own links are not tracked)
  const m1 = /href="([^"]*\/u\/[^"]+\/confirm)"[^>]*>登録を確定する/.exec(msg.htmlPart.text);
  assert.ok(m1, msg.htmlPart.text);
  const confirmUrl = local(srv, m1[1]);
  // GET only shows the button (link scanners must not confirm); the consent stays pending
  const pageJa = await fetch(confirmUrl, { headers: { 'accept-language': 'ja' } });
  assert.equal(pageJa.status, 200);
  assert.match(await pageJa.text(), /登録を確定する/);
  assert.match(await (await fetch(confirmUrl, { headers: { 'accept-language': 'en' } })).text(), /Confirm your subscription/);
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/contacts/${confirmed.id}/consent`), 200).consent.email.status, 'pending');
  const forged = confirmUrl.replace(/\/u\/(\d+)-/, (m, id) => `/u/${Number(id) + 1}-`);
  assert.equal((await fetch(forged, { method: 'POST' })).status, 404);
  const ok = await fetch(confirmUrl, { method: 'POST', headers: { 'accept-language': 'en', 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /You are subscribed/);
  const rec = expectStatus(await srv.api('GET', `/api/v1/contacts/${confirmed.id}/consent`), 200).consent.email;
  assert.equal(rec.status, 'granted');
  assert.equal(rec.source, 'form:3');
  assert.match(rec.at, /^\d{4}-\d\d-\d\dT/);
  assert.match(rec.confirmed_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof rec.confirmed_ip, 'string');
  assert.equal((await fetch(confirmUrl, { method: 'POST' })).status, 200, 'confirming twice is fine');
  const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${confirmed.id}/timeline?limit=50`), 200);
  assert.ok(tl.data.some((e) => e.name === 'email_confirmed'), 'the timeline has email_confirmed');
  // broadcasts skip the unconfirmed contact
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  const done = await broadcastDone(srv, bc.id);
  assert.equal(done.stats.sent, 2);
  assert.deepEqual(done.stats.skipped, { unconfirmed: 1 });
  await sink.stop();
});

test('delivery_settings_switch_the_running_sender_seal_the_password_and_send_a_test', async () => {
  const sink = await startSink();
  const srv = await startServer({ env: { KIZUNA_SMTP_RETRY_SECONDS: '1' } }); // no KIZUNA_SMTP_URL
  expectStatus(await srv.api('PATCH', '/api/v1/settings', { ...FOOTER, sender_email: 'news@kizuna.example', sender_name: '絆ニュース' }), 200);
  let d = expectStatus(await srv.api('GET', '/api/v1/settings/email-delivery'), 200);
  assert.equal(d.active.transport, 'maildir');
  assert.equal(d.active.configured_by, 'settings');
  assert.equal(d.smtp_password_set, false);
  // bad input names the field and changes nothing
  await assertError(await srv.api('PATCH', '/api/v1/settings/email-delivery', { smtp_host: '127.0.0.1', smtp_security: 'ssl' }), 422, 'invalid_field', 'smtp_security');
  await assertError(await srv.api('PATCH', '/api/v1/settings/email-delivery', { smtp_port: 70000 }), 422, 'invalid_field', 'smtp_port');
  await assertError(await srv.api('PATCH', '/api/v1/settings/email-delivery', { smtp_hots: 'x' }), 422, 'unknown_field', 'smtp_hots');
  await assertError(await srv.api('PATCH', '/api/v1/settings/email-delivery', { dkim_key: 'not a key' }), 422, 'invalid_field', 'dkim_key');
  assert.deepEqual(expectStatus(await srv.api('GET', '/api/v1/settings/email-delivery'), 200), d);
  // the SMTP server and a password that never comes back. (No smtp_username here: smtp-sink
  // answers AUTH with 250 where libcurl wants 235, so AUTH cannot be tried against it.)
  const password = 'pä55:w@rd/秘密';
  d = expectStatus(await srv.api('PATCH', '/api/v1/settings/email-delivery', {
    smtp_host: '127.0.0.1', smtp_port: sink.port, smtp_security: 'none', smtp_password: password, smtp_rate: 50, smtp_connections: 2,
    dkim_domain: 'kizuna.example', dkim_selector: 'k2026',
  }), 200);
  assert.equal(d.smtp_host, '127.0.0.1');
  assert.equal(d.smtp_port, sink.port);
  assert.equal(d.smtp_password_set, true);
  assert.equal(d.active.transport, 'smtp');
  assert.equal(d.active.connections, 2);
  assert.equal(d.active.location, `smtp://127.0.0.1:${sink.port}`);
  assert.ok(!JSON.stringify(d).includes('55:w'), 'the password is not shown');
  if (!String(srv.dbUrl).startsWith('postgres')) { // sealed at rest: not in the database file
    const files = [srv.dbUrl, `${srv.dbUrl}-wal`].filter(existsSync);
    for (const f of files) assert.ok(!readFileSync(f).includes(Buffer.from('pä55')), `${f} holds the password in clear`);
  }
  // a DKIM key made here, with the DNS record to publish
  d = expectStatus(await srv.api('POST', '/api/v1/settings/email-delivery/dkim-key', { type: 'ed25519' }), 200);
  assert.equal(d.dkim_key_set, true);
  assert.match(d.dkim_dns_record, /^v=DKIM1; k=ed25519; p=/);
  assert.equal(d.active.dkim, 'ed25519-sha256');
  await assertError(await srv.api('POST', '/api/v1/settings/email-delivery/dkim-key', { type: 'dsa' }), 422, 'invalid_field', 'type');
  // "send test email": through the server just configured, signed with the new key
  await assertError(await srv.api('POST', '/api/v1/settings/email-delivery/test', { to: 'not-an-address' }), 422, 'invalid_field', 'to');
  const sent = expectStatus(await srv.api('POST', '/api/v1/settings/email-delivery/test', { to: 'admin@example.jp' }), 200);

  assert.equal(sent.sent, true);
  await waitFor(() => sink.files().length >= 1, { what: 'the test message at smtp-sink' });
  const [msg] = sink.messages();
  assert.equal(msg.get('X-Rcpt-Args'), '<admin@example.jp>');
  assert.match(msg.subject, /配信設定のテスト/);
  assert.equal(verifyDkim(msg, publicKeyFromTxt(d.dkim_dns_record)).s, 'k2026');
  // after a restart the stored settings (password opened with the install key) still apply
  await srv.restart();
  const again = expectStatus(await srv.api('GET', '/api/v1/settings/email-delivery'), 200);
  assert.equal(again.active.transport, 'smtp');
  assert.equal(again.active.dkim, 'ed25519-sha256');
  const c = await contact(srv, uniqueEmail('ds'), { tags: ['ds'] });
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag: 'ds' }), 201);
  await broadcastDone(srv, bc.id);
  await waitFor(() => sink.files().length >= 2, { what: 'the newsletter at smtp-sink' });
  assert.ok(sink.messages().some((m) => m.get('X-Rcpt-Args') === `<${c.email}>`));
  // back to the local outbox
  d = expectStatus(await srv.api('PATCH', '/api/v1/settings/email-delivery', { smtp_host: '' }), 200);
  assert.equal(d.active.transport, 'maildir');
  await sink.stop();
});

test('delivery_settings_are_read_only_when_the_environment_sets_smtp', async () => {
  const srv = await mailServer(null);
  const d = expectStatus(await srv.api('GET', '/api/v1/settings/email-delivery'), 200);
  assert.equal(d.active.configured_by, 'environment');
  await assertError(await srv.api('PATCH', '/api/v1/settings/email-delivery', { smtp_host: 'smtp.example.com' }), 409, 'configured_by_environment', 'smtp_host');
});

test('saved_templates_start_emails_and_keep_an_email_as_a_template', async () => {
  const srv = await startServer();
  await assertError(await srv.api('POST', '/api/v1/email-templates', { name: '壊れた', html: '<p>{{ contact.name | nope }}</p>' }), 422, 'template_error', 'html');
  await assertError(await srv.api('POST', '/api/v1/email-templates', { html: '<p>x</p>' }), 422, 'missing_field', 'name');
  await assertError(await srv.api('POST', '/api/v1/email-templates', { name: 'x', html: '<p>x</p>', colour: 'red' }), 422, 'unknown_field', 'colour');
  const layout = expectStatus(await srv.api('POST', '/api/v1/email-templates', {
    name: '月次レイアウト', description: 'ロゴと署名つき', subject: '',
    html: '<table role="presentation"><tr><td><h1>{{ contact.last_name }}様</h1><p>本文</p></td></tr></table>',
    blocks: [{ type: 'heading', text: '{{ contact.last_name }}様' }],
  }), 201);
  assert.equal(layout.subject, '');
  assert.match(layout.html, /role="presentation"/);
  // an email starts from it; the members given win, the rest come from the template
  const e = expectStatus(await srv.api('POST', '/api/v1/emails', { template_id: layout.id, name: '12月号', subject: '12月のお知らせ' }), 201);
  assert.equal(e.html, layout.html);
  assert.deepEqual(e.blocks, layout.blocks);
  assert.equal(e.subject, '12月のお知らせ');
  await assertError(await srv.api('POST', '/api/v1/emails', { template_id: layout.id, name: '件名なし' }), 422, 'missing_field', 'subject');
  await assertError(await srv.api('POST', '/api/v1/emails', { template_id: 9999, name: 'x', subject: 'y' }), 422, 'invalid_field', 'template_id');
  // an email kept as a template
  const kept = expectStatus(await srv.api('POST', '/api/v1/email-templates', { name: '12月号の型', from_email_id: e.id }), 201);
  assert.equal(kept.subject, '12月のお知らせ');
  assert.equal(kept.html, layout.html);
  await assertError(await srv.api('POST', '/api/v1/email-templates', { name: 'x', from_email_id: 9999 }), 422, 'invalid_field', 'from_email_id');
  const list = expectStatus(await srv.api('GET', '/api/v1/email-templates'), 200);
  assert.deepEqual(list.data.map((x) => x.name).sort(), ['12月号の型', '月次レイアウト'].sort());
  assert.equal(list.data[0].html, undefined, 'the list leaves the bodies out');
  const renamed = expectStatus(await srv.api('PATCH', `/api/v1/email-templates/${kept.id}`, { name: '年末の型' }), 200);
  assert.equal(renamed.name, '年末の型');
  assert.equal(renamed.html, layout.html);
  await assertError(await srv.api('PATCH', `/api/v1/email-templates/${kept.id}`, { html: '{% if %}' }), 422, 'template_error', 'html');
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/email-templates/${kept.id}`), 200).name, '年末の型');
  expectStatus(await srv.api('DELETE', `/api/v1/email-templates/${kept.id}`), 204);
  await assertError(await srv.api('GET', `/api/v1/email-templates/${kept.id}`), 404, 'not_found');
  // the email made from a template does not change with it
  expectStatus(await srv.api('DELETE', `/api/v1/email-templates/${layout.id}`), 204);
  assert.equal(expectStatus(await srv.api('GET', `/api/v1/emails/${e.id}`), 200).html, layout.html);
});

test('ab_test_sends_variants_to_a_test_share_then_the_winner_to_the_rest', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink, { KIZUNA_CLOCK: 'manual' });
  const tag = `ab-${Date.now()}`;
  for (let i = 0; i < 20; i++) await contact(srv, uniqueEmail(`ab${i}`), { tags: [tag] });
  const a = await newsletter(srv, { name: 'A', subject: '件名A：11月のお知らせ' });
  const b = await newsletter(srv, { name: 'B', subject: '件名B：今月だけの特典' });
  const post = (ab) => srv.api('POST', '/api/v1/broadcasts', { email_id: a.id, tag, ab });
  await assertError(await post({ variants: [a.id] }), 422, 'invalid_field', 'ab.variants');
  await assertError(await post({ variants: [] }), 422, 'invalid_field', 'ab.variants');
  await assertError(await post({ variants: [99999] }), 422, 'invalid_field', 'ab.variants');
  await assertError(await post({ variants: [b.id], test_percent: 95 }), 422, 'invalid_field', 'ab.test_percent');
  await assertError(await post({ variants: [b.id], metric: 'reply' }), 422, 'invalid_field', 'ab.metric');
  await assertError(await post({ variants: [b.id], wait_minutes: 0 }), 422, 'invalid_field', 'ab.wait_minutes');
  await assertError(await post({ variants: [b.id], winner: 1 }), 422, 'unknown_field', 'ab.winner');
  assert.equal(expectStatus(await srv.api('GET', '/api/v1/broadcasts'), 200).data.length, 0, 'a refused test created nothing');
  const bc = expectStatus(await post({ variants: [b.id], test_percent: 40, metric: 'open', wait_minutes: 60 }), 201);
  assert.deepEqual(bc.ab.variants, [a.id, b.id]);
  // 40% of 20 = 8 test messages, 4 per variant; the other 12 wait
  await waitFor(() => sink.files().length >= 8, { what: 'the 8 test messages' });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(sink.files().length, 8, 'only the test share is sent before the decision');
  const bySubject = (msgs) => msgs.reduce((m, x) => ({ ...m, [x.subject]: (m[x.subject] || 0) + 1 }), {});
  assert.deepEqual(bySubject(sink.messages()), { '件名A：11月のお知らせ': 4, '件名B：今月だけの特典': 4 });
  let now = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}`), 200);
  assert.equal(now.status, 'sending');
  assert.equal(now.stats.queued, 12);
  assert.equal(now.ab.winner_email_id, null);
  // people open B more: 3 of 4, A: 1 of 4 (past the machine window)
  expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: 10 }), 200);
  const ua = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36' };
  const opened = { A: 0, B: 0 };
  for (const m of sink.messages()) {
    const which = m.subject.startsWith('件名A') ? 'A' : 'B';
    if (opened[which] >= (which === 'A' ? 1 : 3)) continue;
    const pix = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(m.htmlPart.text)[1];
    assert.equal((await fetch(local(srv, pix), { headers: ua })).status, 200);
    opened[which]++;
  }
  now = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}`), 200);
  const res = Object.fromEntries(now.ab.results.map((r) => [r.email_id, r]));
  assert.equal(res[a.id].sent, 4);
  assert.equal(res[b.id].opened, 3);
  assert.equal(res[b.id].open_rate, 0.75);
  // the wait ends: B wins and goes to the other 12
  expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: 3600 }), 200);
  const done = await broadcastDone(srv, bc.id, 30000);
  assert.equal(done.ab.winner_email_id, b.id);
  assert.equal(done.stats.sent, 20);
  await waitFor(() => sink.files().length >= 20, { what: 'all 20 messages' });
  const msgs = sink.messages();
  assert.equal(msgs.length, 20);
  assert.equal(new Set(msgs.map((m) => m.get('X-Rcpt-Args'))).size, 20, 'each recipient exactly once');
  assert.deepEqual(bySubject(msgs), { '件名A：11月のお知らせ': 4, '件名B：今月だけの特典': 16 });
  await sink.stop();
});

test('kill_9_mid_broadcast_then_restart_sends_each_recipient_once', async () => {
  const sink = await startSink();
  const srv = await mailServer(sink, { KIZUNA_SMTP_RATE: "40", KIZUNA_SMTP_CONNECTIONS: "1", KIZUNA_SMTP_LEASE_SECONDS: "3" });
  const tag = `k9-${Date.now()}`;
  for (let i = 0; i < 120; i++) await contact(srv, uniqueEmail(`k${i}`), { tags: [tag] });
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  await waitFor(() => sink.files().length >= 20, { timeout: 20000, what: '20 messages before the kill' });
  await srv.kill9();
  const before = sink.files().length;
  assert.ok(before < 120, 'the kill came before the end');
  await srv.start();
  await broadcastDone(srv, bc.id, 60000);
  await new Promise((r) => setTimeout(r, 500));
  const msgs = sink.messages();
  const perRcpt = new Map();
  for (const m of msgs) {
    const r = m.get('X-Rcpt-Args');
    if (!perRcpt.has(r)) perRcpt.set(r, new Set());
    perRcpt.get(r).add(m.get('Message-ID'));
  }
  assert.equal(perRcpt.size, 120, 'every recipient got the newsletter');
  for (const [r, ids] of perRcpt) assert.equal(ids.size, 1, `${r} got ${ids.size} different messages`);
  // SMTP has no idempotency: a message accepted in the instant before the kill may be
  // delivered again after the lease, with the same Message-ID (receivers fold those).
  assert.ok(msgs.length <= 121, `${msgs.length} deliveries for 120 recipients`);
  const st = expectStatus(await srv.api('GET', `/api/v1/broadcasts/${bc.id}`), 200).stats;
  assert.equal(st.sent, 120);
  await sink.stop();
});

test('a_clean_stop_mid_broadcast_puts_claimed_messages_back_at_once', async () => {
  const sink = await startSink();
  // the default 300 s lease: rows left claimed by the stop would wait five minutes
  const srv = await mailServer(sink, { KIZUNA_SMTP_RATE: '20', KIZUNA_SMTP_CONNECTIONS: '2' });
  const tag = `stop-${Date.now()}`;
  for (let i = 0; i < 60; i++) await contact(srv, uniqueEmail(`s${i}`), { tags: [tag] });
  const email = await newsletter(srv);
  const bc = expectStatus(await srv.api('POST', '/api/v1/broadcasts', { email_id: email.id, tag }), 201);
  await waitFor(() => sink.files().length >= 10, { timeout: 20000, what: '10 messages before the stop' });
  await srv.stop();
  assert.ok(sink.files().length < 60, 'the stop came before the end');
  await srv.start();
  await broadcastDone(srv, bc.id, 30000); // well inside the lease
  await new Promise((r) => setTimeout(r, 500));
  const msgs = sink.messages();
  assert.equal(msgs.length, 60, 'a clean stop delivers nothing twice');
  assert.equal(new Set(msgs.map((m) => m.get('X-Rcpt-Args'))).size, 60);
  await sink.stop();
});
