// email.test.mjs — black-box tests of email through a real SMTP server (smtp-sink): MIME,
// RFC 2047 Japanese headers, DKIM (verified with OpenSSL via node:crypto), List-Unsubscribe,
// tracked links, one-click unsubscribe, skip reasons, bounces piped to `kizuna bounce`, SMTP
// down then up, and kill -9 mid-broadcast.

import assert from 'node:assert/strict';
import {
  assertError, expectStatus, runCli, test, uniqueEmail, waitFor,
} from './harness.mjs';
import { broadcastDone, contact, keygen, local, mailServer, newsletter } from './email_fixtures.mjs';
import { freePort, parseMessage, publicKeyFromTxt, startSink, verifyDkim } from './mail.mjs';

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
  // smtp-sink writes the file as the message arrives: wait until it holds the whole message
  await waitFor(() => sink.files().length === 1 && sink.messages()[0].closed, { what: 'the test message' });
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
