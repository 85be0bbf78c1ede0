// forms.test.mjs — black-box tests of lead capture: forms API, hosted page, script embed, plain posts, spam, assets.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { assertError, before, describe, expectStatus, startServer, test, uniqueEmail } from './harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});

const rand = () => Math.random().toString(36).slice(2, 8);

function formBody(extra = {}) {
  return {
    name: `セミナー申込 ${rand()}`,
    fields: [
      { name: 'email', type: 'email', required: true, label: { ja: 'メールアドレス', en: 'Email' }, maps_to: 'email' },
      { name: 'last_name', type: 'text', required: true, label: { ja: '姓', en: 'Last name' }, maps_to: 'last_name' },
      { name: 'company', type: 'text', label: { ja: '会社名', en: 'Company' }, maps_to: 'company', progressive: true },
      { name: 'phone', type: 'tel', label: { ja: '電話番号', en: 'Phone' }, maps_to: 'phone', progressive: true },
      { name: 'size', type: 'select', label: { ja: '従業員数', en: 'Employees' },
        options: [{ value: '1-10', label: { ja: '1〜10名', en: '1-10' } }, { value: '11+', label: { ja: '11名以上', en: '11+' } }] },
      { name: 'utm_campaign', type: 'hidden' },
      { name: 'consent', type: 'consent', required: true, text: { ja: '個人情報の取り扱いに同意します', en: 'I agree to the privacy policy' } },
    ],
    actions: [{ type: 'add_tag', tag: 'seminar' }],
    settings: { min_fill_seconds: 0, rate_limit_per_minute: 1000 },
    ...extra,
  };
}

async function createForm(extra) {
  return expectStatus(await srv.api('POST', '/api/v1/forms', formBody(extra)), 201);
}

/** The render token of a form, as the hosted page hands it out. */
async function token(form) {
  const res = await srv.api('GET', `/f/${form.id}?format=fragment`, undefined, { key: null });
  assert.equal(res.status, 200, res.info);
  return /name="_kz_t" value="([^"]+)"/.exec(res.text)[1];
}

function post(form, fields, { json = true, headers = {}, raw } = {}) {
  const body = raw ?? new URLSearchParams(fields).toString();
  const h = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  if (json) h.accept = 'application/json';
  return srv.api('POST', `/f/${form.id}`, undefined, { key: null, raw: body, headers: h });
}

async function contactByEmail(email) {
  return expectStatus(await srv.api('GET', `/api/v1/contacts?email=${encodeURIComponent(email)}`), 200).data[0];
}

async function submissions(form) {
  return expectStatus(await srv.api('GET', `/api/v1/forms/${form.id}/submissions`), 200).data;
}

describe('forms API', () => {
  test('create_answers_the_form_with_three_embed_codes', async () => {
    const f = await createForm();
    assert.equal(f.embed.url, `${srv.url}/f/${f.id}`);
    assert.equal(f.embed.script, `<script src="${srv.url}/f/${f.id}.js" async></script>`);
    assert.match(f.embed.html, new RegExp(`<form class="kz-form" method="post"[^>]* action="${srv.url}/f/${f.id}"`));
    assert.match(f.embed.html, /name="_kz_t"/);
    assert.equal(f.views, 0);
    assert.equal(f.submissions, 0);
    assert.equal(f.conversion_rate, null);
    const got = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}`), 200);
    assert.deepEqual(got.fields, f.fields);
    const list = expectStatus(await srv.api('GET', '/api/v1/forms'), 200);
    assert.ok(list.data.some((x) => x.id === f.id));
  });

  test('definition_rules_are_enforced_with_the_field_named', async () => {
    const noEmail = formBody();
    noEmail.fields = noEmail.fields.filter((x) => x.name !== 'email');
    assertError(await srv.api('POST', '/api/v1/forms', noEmail), 422, 'invalid_field', 'fields');
    const badType = formBody();
    badType.fields[1].type = 'colour';
    assertError(await srv.api('POST', '/api/v1/forms', badType), 422, 'invalid_field', 'fields[1]');
    const noOptions = formBody();
    delete noOptions.fields[4].options;
    assertError(await srv.api('POST', '/api/v1/forms', noOptions), 422, 'invalid_field', 'fields[4]');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ actions: [{ type: 'enroll_journey' }] })),
      422, 'invalid_field', 'actions[0]');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ actions: [{ type: 'enroll_journey', journey_id: 999999 }] })),
      422, 'invalid_field', 'actions');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ settings: { double_opt_in: 'yes' } })),
      422, 'invalid_field', 'settings.double_opt_in');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ success: { redirect: 'javascript:alert(1)' } })),
      422, 'invalid_field', 'success.redirect');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ actions: [{ type: 'deliver_asset', asset_id: 999999 }] })),
      422, 'invalid_field', 'actions');
    assertError(await srv.api('POST', '/api/v1/forms', formBody({ colour: 'red' })), 422, 'unknown_field', 'colour');
  });

  test('patch_keeps_what_it_does_not_name_and_delete_removes', async () => {
    const f = await createForm();
    const p = expectStatus(await srv.api('PATCH', `/api/v1/forms/${f.id}`, { name: 'Renamed' }), 200);
    assert.equal(p.name, 'Renamed');
    assert.deepEqual(p.fields, f.fields);
    assert.equal((await srv.api('DELETE', `/api/v1/forms/${f.id}`)).status, 204);
    assertError(await srv.api('GET', `/api/v1/forms/${f.id}`), 404, 'not_found');
    assert.equal((await srv.api('GET', `/f/${f.id}`, undefined, { key: null })).status, 404);
  });

  test('viewers_read_forms_but_cannot_write_them', async () => {
    const k = expectStatus(await srv.api('POST', '/api/v1/api-keys', { name: 'ro', role: 'viewer' }), 201);
    assert.equal((await srv.api('GET', '/api/v1/forms', undefined, { key: k.key })).status, 200);
    assert.equal((await srv.api('POST', '/api/v1/forms', formBody(), { key: k.key })).status, 403);
  });
});

describe('visitor side', () => {
  test('hosted_page_escapes_every_text_and_counts_a_view', async () => {
    const body = formBody();
    body.fields[1].label = { ja: '<script>alert(1)</script>姓', en: 'Last "name"' };
    const f = await createForm({ fields: body.fields });
    const res = await srv.api('GET', `/f/${f.id}?lang=en&utm_campaign=spring`, undefined, { key: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.ok(!res.text.includes('<script>alert(1)</script>'));
    assert.ok(res.text.includes('Last &quot;name&quot;'));
    assert.match(res.text, /<html lang="en">/);
    assert.match(res.text, /name="utm_campaign" value="spring"/);
    const ja = await srv.api('GET', `/f/${f.id}`, undefined, { key: null, headers: { 'accept-language': 'ja,en;q=0.8' } });
    assert.ok(ja.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;姓'));
    assert.ok(ja.text.includes('個人情報の取り扱いに同意します'));
    const after = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}`), 200);
    assert.equal(after.views, 2);
  });

  test('script_and_stylesheet_are_served_for_embedding', async () => {
    const f = await createForm();
    const js = await srv.api('GET', `/f/${f.id}.js`, undefined, { key: null });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    assert.ok(js.text.includes(`ID = ${f.id}`));
    const css = await srv.api('GET', '/f/form.css', undefined, { key: null });
    assert.equal(css.status, 200);
    assert.match(css.text, /--kz-accent/);
    assert.equal((await srv.api('GET', '/f/99999999.js', undefined, { key: null })).status, 404);
  });

  test('json_submission_creates_the_contact_stitches_the_visitor_and_emits_form_submitted', async () => {
    const f = await createForm();
    const anon = `anon-${randomUUID()}`;
    for (const p of ['/', '/pricing', '/seminar']) {
      expectStatus(await srv.api('POST', '/api/v1/events', {
        type: 'page', anonymousId: anon, context: { url: `https://www.example.com${p}` },
      }), 200);
    }
    const email = uniqueEmail('seminar');
    const res = await post(f, {
      _kz_t: await token(f), _kz_vid: anon, _kz_page: 'https://www.example.com/seminar?utm_source=google',
      email: email.toUpperCase(), last_name: '山田', company: '株式会社キズナ', size: '11+',
      utm_campaign: 'spring', consent: 'on',
    });
    const ok = expectStatus(res, 200);
    assert.equal(ok.ok, true);
    assert.equal(ok.message, '送信ありがとうございました。');
    const c = await contactByEmail(email);
    assert.equal(c.last_name, '山田');
    assert.deepEqual(c.tags, ['seminar']);
    assert.equal(c.company.name, '株式会社キズナ');
    const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/timeline?limit=50`), 200).data;
    assert.equal(tl.filter((e) => e.name === 'page_view').length, 3);
    const fs = tl.find((e) => e.name === 'form_submitted');
    assert.equal(fs.properties.form_id, f.id);
    const subs = await submissions(f);
    assert.equal(subs.length, 1);
    assert.equal(subs[0].contact_id, c.id);
    assert.equal(subs[0].anonymous_id, anon);
    assert.equal(subs[0].data.email, email);
    assert.equal(subs[0].utm.utm_source, 'google');
    assert.equal(subs[0].utm.utm_campaign, 'spring');
    assert.equal(subs[0].consent.granted, true);
    assert.equal(subs[0].consent.text.ja, '個人情報の取り扱いに同意します');
    const stats = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}`), 200);
    assert.equal(stats.submissions, 1);
    assert.equal(stats.conversion_rate, 1);
  });

  test('a_second_submission_updates_the_same_contact', async () => {
    const f = await createForm();
    const email = uniqueEmail('dup');
    expectStatus(await post(f, { _kz_t: await token(f), email, last_name: '佐藤', consent: 'on' }), 200);
    expectStatus(await post(f, { _kz_t: await token(f), email: `  ${email.toUpperCase()} `, last_name: '佐藤', phone: '090-1234-5678', consent: 'on' }), 200);
    const list = expectStatus(await srv.api('GET', `/api/v1/contacts?email=${encodeURIComponent(email)}`), 200).data;
    assert.equal(list.length, 1);
    assert.equal(list[0].phone, '+819012345678');
    assert.equal((await submissions(f)).length, 2);
  });

  test('invalid_values_answer_per_field_errors_and_store_nothing', async () => {
    const f = await createForm();
    const email = uniqueEmail('bad');
    const res = await post(f, { _kz_t: await token(f), email: 'not-an-email', size: 'huge', _kz_lang: 'en' });
    assert.equal(res.status, 422, res.info);
    assert.equal(res.json.error.code, 'invalid_submission');
    const byField = Object.fromEntries(res.json.errors.map((e) => [e.field, e.code]));
    assert.deepEqual(byField, { email: 'invalid_email', last_name: 'required', size: 'invalid_choice', consent: 'consent_required' });
    assert.equal(res.json.errors[0].message, 'Enter a valid email address.');
    assert.ok(res.json.token);
    assert.equal(await contactByEmail(email), undefined);
    assert.equal((await submissions(f)).length, 0);
  });

  test('without_javascript_errors_come_back_inline_and_success_is_a_page', async () => {
    const f = await createForm();
    const bad = await post(f, { _kz_t: await token(f), email: 'x@', last_name: '<b>鈴木</b>' }, { json: false });
    assert.equal(bad.status, 422);
    assert.match(bad.headers.get('content-type'), /text\/html/);
    assert.ok(bad.text.includes('正しいメールアドレスを入力してください。'));
    assert.ok(bad.text.includes('value="&lt;b&gt;鈴木&lt;/b&gt;"'), 'the sent value is kept, escaped');
    assert.match(bad.text, /aria-invalid="true"/);
    const email = uniqueEmail('nojs');
    const ok = await post(f, { _kz_t: await token(f), email, last_name: '鈴木', consent: 'on' }, { json: false });
    assert.equal(ok.status, 200);
    assert.ok(ok.text.includes('送信ありがとうございました。'));
    assert.ok(await contactByEmail(email));
  });

  test('multipart_and_json_bodies_are_accepted_too', async () => {
    const f = await createForm();
    const email = uniqueEmail('mp');
    const fd = new FormData();
    for (const [k, v] of Object.entries({ _kz_t: await token(f), email, last_name: '高橋', consent: 'on' })) fd.append(k, v);
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const raw = Buffer.from(await req.arrayBuffer());
    const res = await post(f, null, { raw, headers: { 'content-type': req.headers.get('content-type') } });
    expectStatus(res, 200);
    assert.ok(await contactByEmail(email));
    const email2 = uniqueEmail('js');
    const j = await srv.api('POST', `/f/${f.id}`, undefined, {
      key: null, headers: { 'content-type': 'application/json' },
      raw: JSON.stringify({ _kz_t: await token(f), email: email2, last_name: '伊藤', consent: true }),
    });
    expectStatus(j, 200);
    assert.ok(await contactByEmail(email2));
    assertError(await post(f, null, { raw: 'x', headers: { 'content-type': 'image/png' } }), 415, 'unsupported_media_type');
  });

  test('progressive_profiling_skips_fields_already_known', async () => {
    const f = await createForm({ settings: { min_fill_seconds: 0, progressive_max: 1, rate_limit_per_minute: 1000 } });
    const anon = `anon-${randomUUID()}`;
    const first = await srv.api('GET', `/f/${f.id}?format=fragment&vid=${anon}`, undefined, { key: null });
    assert.match(first.text, /data-kz-field="company"/);
    assert.doesNotMatch(first.text, /data-kz-field="phone"/, 'only one progressive field at a time');
    const email = uniqueEmail('prog');
    expectStatus(await post(f, { _kz_t: await token(f), _kz_vid: anon, email, last_name: '田中', company: 'Kizuna KK', consent: 'on' }), 200);
    const again = await srv.api('GET', `/f/${f.id}?format=fragment&vid=${anon}`, undefined, { key: null });
    assert.doesNotMatch(again.text, /data-kz-field="company"/);
    assert.match(again.text, /data-kz-field="phone"/);
  });

  test('csv_export_lists_every_submission_with_a_bom', async () => {
    const f = await createForm();
    const email = uniqueEmail('csv');
    expectStatus(await post(f, { _kz_t: await token(f), email, last_name: '渡辺, "Jr"', consent: 'on' }), 200);
    const res = await srv.api('GET', `/api/v1/forms/${f.id}/submissions.csv`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/csv/);
    assert.equal(res.body[0], 0xef);
    const lines = res.text.replace(/^\uFEFF/, '').trim().split('\r\n');
    assert.equal(lines[0], 'id,created_at,contact_id,email,last_name,company,phone,size,utm_campaign,consent,_page_url,_referrer,_utm_source,_utm_medium,_utm_campaign,_consent_granted');
    assert.equal(lines.length, 2);
    assert.ok(lines[1].includes(`${email},"渡辺, ""Jr"""`));
  });
});

describe('spam', () => {
  test('the_honeypot_pretends_success_but_creates_nothing', async () => {
    const f = await createForm();
    const email = uniqueEmail('bot');
    const res = await post(f, { _kz_t: await token(f), _kz_url: 'http://spam.example', email, last_name: 'Bot', consent: 'on' });
    expectStatus(res, 200);
    assert.equal(await contactByEmail(email), undefined);
    assert.equal((await submissions(f)).length, 0);
    const log = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}/spam`), 200).data;
    assert.equal(log[0].reason, 'honeypot');
    assert.equal(log[0].data.email, email);
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}`), 200).spam, 1);
  });

  test('a_missing_or_forged_token_is_refused', async () => {
    const f = await createForm();
    const email = uniqueEmail('forged');
    assertError(await post(f, { email, last_name: 'X', consent: 'on' }), 400, 'invalid_token');
    assertError(await post(f, { _kz_t: '1700000000000.00000000000000000000000000000000', email, last_name: 'X', consent: 'on' }), 400, 'invalid_token');
    assert.equal(await contactByEmail(email), undefined);
  });

  test('a_form_sent_faster_than_a_person_can_fill_it_is_refused', async () => {
    const f = await createForm({ settings: { min_fill_seconds: 30 } });
    const email = uniqueEmail('fast');
    const res = await post(f, { _kz_t: await token(f), email, last_name: 'X', consent: 'on' });
    assertError(res, 422, 'too_fast');
    assert.equal(await contactByEmail(email), undefined);
    const log = expectStatus(await srv.api('GET', `/api/v1/forms/${f.id}/spam`), 200).data;
    assert.equal(log[0].reason, 'too_fast');
  });

  test('one_address_is_rate_limited_per_form', async () => {
    const f = await createForm({ settings: { min_fill_seconds: 0, rate_limit_per_minute: 2 } });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await post(f, { _kz_t: await token(f), email: uniqueEmail('rl'), last_name: 'X', consent: 'on' })).status);
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal((await submissions(f)).length, 2);
  });

  test('behind_a_trusted_proxy_the_limit_is_per_forwarded_address', async () => {
    const px = await startServer({ env: { KIZUNA_TRUST_PROXY: '1' } });
    const f = expectStatus(await px.api('POST', '/api/v1/forms', formBody({ settings: { min_fill_seconds: 0, rate_limit_per_minute: 1 } })), 201);
    const frag = await px.api('GET', `/f/${f.id}?format=fragment`, undefined, { key: null });
    const tok = /name="_kz_t" value="([^"]+)"/.exec(frag.text)[1];
    const send = (ip) => px.api('POST', `/f/${f.id}`, undefined, {
      key: null,
      raw: new URLSearchParams({ _kz_t: tok, email: uniqueEmail('px'), last_name: 'X', consent: 'on' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'x-forwarded-for': `${ip}, 10.0.0.1` },
    });
    assert.equal((await send('203.0.113.7')).status, 200);
    assert.equal((await send('203.0.113.7')).status, 429);
    assert.equal((await send('198.51.100.9')).status, 200, 'another visitor behind the same proxy is not limited');
    const subs = expectStatus(await px.api('GET', `/api/v1/forms/${f.id}/submissions`), 200).data;
    assert.deepEqual(subs.map((x) => x.ip).sort(), ['198.51.100.9', '203.0.113.7']);
    await px.stop();
  });
});

describe('gated assets', () => {
  const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

  async function upload(body = pdf, ctype = 'application/pdf', q = 'name=資料A&filename=whitepaper.pdf') {
    return srv.api('POST', `/api/v1/assets?${q}`, undefined, { raw: body, headers: { 'content-type': ctype } });
  }

  test('uploads_are_checked_for_type_and_content', async () => {
    const a = expectStatus(await upload(), 201);
    assert.equal(a.content_type, 'application/pdf');
    assert.equal(a.size, pdf.length);
    assert.equal(a.gated, true);
    assert.equal(a.filename, 'whitepaper.pdf');
    assert.equal(a.url, `${srv.url}/a/${a.id}`);
    assertError(await upload(pdf, 'application/x-msdownload'), 415, 'unsupported_media_type');
    assertError(await upload(Buffer.from('MZ not a pdf'), 'application/pdf'), 415, 'content_mismatch');
    assertError(await upload(Buffer.alloc(0), 'application/pdf'), 422, 'invalid_field');
    const list = expectStatus(await srv.api('GET', '/api/v1/assets'), 200).data;
    assert.ok(list.some((x) => x.id === a.id && !('content' in x)));
  });

  test('a_gated_asset_downloads_only_through_the_link_its_form_hands_out', async () => {
    const a = expectStatus(await upload(), 201);
    const denied = await srv.api('GET', `/a/${a.id}`, undefined, { key: null });
    assert.equal(denied.status, 403);
    assert.ok(denied.text.includes('This file is available through its form only.'));
    assert.equal((await srv.api('GET', `/a/${a.id}?t=9999999999999.1.deadbeef`, undefined, { key: null })).status, 403);
    const f = await createForm({ actions: [{ type: 'add_tag', tag: 'wp' }, { type: 'deliver_asset', asset_id: a.id }] });
    const email = uniqueEmail('wp');
    const ok = expectStatus(await post(f, { _kz_t: await token(f), email, last_name: '中村', consent: 'on' }), 200);
    assert.match(ok.download_url, new RegExp(`^${srv.url}/a/${a.id}\\?t=`));
    const dl = await srv.api('GET', ok.download_url.slice(srv.url.length), undefined, { key: null });
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'application/pdf');
    assert.match(dl.headers.get('content-disposition'), /attachment; filename="whitepaper.pdf"/);
    assert.deepEqual(dl.body, pdf);
    const c = await contactByEmail(email);
    const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${c.id}/timeline`), 200).data;
    const ev = tl.find((e) => e.name === 'asset_downloaded');
    assert.equal(ev.properties.asset_id, a.id);
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/assets/${a.id}`), 200).downloads, 1);
    const page = await post(f, { _kz_t: await token(f), email, last_name: '中村', consent: 'on' }, { json: false });
    assert.match(page.text, new RegExp(`<a class="kz-download" href="${srv.url}/a/${a.id}\\?t=`));
  });

  test('an_ungated_asset_downloads_for_anyone_and_patch_changes_the_gate', async () => {
    const a = expectStatus(await upload(Buffer.from('hello, 世界\n'), 'text/plain', 'name=memo&gated=false'), 201);
    const dl = await srv.api('GET', `/a/${a.id}`, undefined, { key: null });
    assert.equal(dl.status, 200);
    assert.equal(dl.text, 'hello, 世界\n');
    const p = expectStatus(await srv.api('PATCH', `/api/v1/assets/${a.id}`, { gated: true }), 200);
    assert.equal(p.gated, true);
    assert.equal((await srv.api('GET', `/a/${a.id}`, undefined, { key: null })).status, 403);
    assert.equal((await srv.api('DELETE', `/api/v1/assets/${a.id}`)).status, 204);
    assert.equal((await srv.api('GET', `/a/${a.id}`, undefined, { key: null })).status, 404);
  });
});
