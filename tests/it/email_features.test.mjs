// email_features.test.mjs — black-box tests of the email features beside sending itself:
// double opt-in (signed confirmation link, consent with time and IP, broadcasts hold the
// unconfirmed), delivery settings (SMTP and DKIM set in Settings, sealed secrets, a test send),
// saved templates, A/B tests (test share, winner to the rest), and a clean stop mid-broadcast.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { assertError, expectStatus, startServer, test, uniqueEmail, waitFor } from './harness.mjs';
import { broadcastDone, contact, FOOTER, local, mailServer, newsletter } from './email_fixtures.mjs';
import { publicKeyFromTxt, startSink, verifyDkim } from './mail.mjs';

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
