// track.test.mjs — black-box tests of tracking: /api/v1/events, /t/collect, the pixel, kz.js, sites, visitors, stitching, durability.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  assertError, assertKeys, before, describe, expectStatus, ISO_UTC, listAll, startServer, test, uniqueEmail,
  waitFor,
} from './harness.mjs';

const BROWSER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
                   'Chrome/126.0.0.0 Safari/537.36';
const ORIGIN = 'https://www.example.com';
const SITE_KEYS = ['allowed_origins', 'anonymize_ip', 'bot_filter', 'created_at', 'id', 'name',
  'respect_dnt', 'retention_days', 'site_key', 'snippet'];
const EVENT_KEYS = ['context', 'contact_id', 'id', 'message_id', 'name', 'occurred_at', 'properties',
  'received_at', 'session_id', 'site_id', 'type', 'visitor_id'];

const rand = () => Math.random().toString(36).slice(2, 10);

let srv;
before(async () => {
  srv = await startServer();
});

async function createSite(s, body = {}) {
  return expectStatus(await s.api('POST', '/api/v1/sites', {
    name: `Site ${rand()}`, allowed_origins: [ORIGIN], ...body,
  }), 201);
}

/** POST /t/collect the way kz.js does: text/plain, no key, Origin and a browser UA. */
function collect(s, body, { origin = ORIGIN, ua = BROWSER_UA, headers = {} } = {}) {
  const h = { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': ua, ...headers };
  if (origin) h.origin = origin;
  return s.api('POST', '/t/collect', undefined, { key: null, raw: JSON.stringify(body), headers: h });
}

function pageEvent(anonymousId, url, extra = {}) {
  return {
    type: 'page', anonymousId, messageId: randomUUID(), timestamp: new Date().toISOString(),
    context: { url, title: `Title of ${url}`, lang: 'ja', screen: '1920x1080' }, ...extra,
  };
}

async function count(s, query) {
  return expectStatus(await s.api('GET', `/api/v1/events/count?${query}`), 200).count;
}

async function contactByEmail(s, email) {
  const page = expectStatus(await s.api('GET', `/api/v1/contacts?email=${encodeURIComponent(email)}`), 200);
  return page.data[0];
}

async function metric(s, name) {
  const res = await s.api('GET', '/metrics', undefined, { key: null });
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('server-side events API', () => {
  test('events_batch_keeps_valid_events_and_reports_bad_ones_by_index', async () => {
    const name = `Batch ${rand()}`;
    const mid = randomUUID();
    const res = await srv.api('POST', '/api/v1/events', {
      batch: [
        { type: 'track', event: name, userId: `u-${rand()}`, messageId: mid, properties: { plan: 'pro' } },
        { type: 'track', event: name, userId: `u-${rand()}`, messageId: mid },
        { type: 'track', userId: 'u-x' },
        { type: 'track', event: name, anonymousId: `a-${rand()}`, timestamp: 'yesterday' },
        { type: 'shout', event: name, anonymousId: 'a' },
        { type: 'track', event: name },
        { type: 'page', anonymousId: `a-${rand()}`, properties: { url: 'https://www.example.com/x' } },
        { type: 'track', event: name, anonymousId: `a-${rand()}`, timestamp: '2026-01-02T03:04:05+09:00' },
      ],
    });
    const body = expectStatus(res, 200);
    assert.equal(body.accepted, 3, res.info);
    assert.equal(body.duplicates, 1, res.info);
    assert.deepEqual(body.errors.map((e) => [e.index, e.field]),
      [[2, 'event'], [3, 'timestamp'], [4, 'type'], [5, 'anonymousId']], res.info);
    for (const e of body.errors) {
      assert.equal(e.code, 'invalid_field');
      assert.ok(e.message.length > 0);
    }
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}`), 2);
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}&since=2026-01-01T00:00:00Z`), 2);
  });

  test('events_single_event_is_accepted_and_an_invalid_one_is_422', async () => {
    const name = `Single ${rand()}`;
    const ok = expectStatus(await srv.api('POST', '/api/v1/events', { type: 'track', event: name, userId: 'u1' }), 200);
    assert.deepEqual(ok, { accepted: 1, duplicates: 0, errors: [] });
    assertError(await srv.api('POST', '/api/v1/events', { type: 'track', userId: 'u1' }), 422, 'invalid_field', 'event');
    assertError(await srv.api('POST', '/api/v1/events', '[1]'), 400, 'invalid_json');
    assertError(await srv.api('POST', '/api/v1/events', { batch: {} }), 422, 'invalid_field', 'batch');
    const big = { batch: Array.from({ length: 1001 }, () => ({ type: 'track', event: 'x', userId: 'u' })) };
    assertError(await srv.api('POST', '/api/v1/events', big), 413, 'batch_too_large');
  });

  test('events_retried_batch_with_same_message_ids_is_all_duplicates', async () => {
    const name = `Retry ${rand()}`;
    const batch = Array.from({ length: 5 }, () => ({ type: 'track', event: name, userId: 'retry', messageId: randomUUID() }));
    assert.equal(expectStatus(await srv.api('POST', '/api/v1/events', { batch }), 200).accepted, 5);
    const again = expectStatus(await srv.api('POST', '/api/v1/events', { batch }), 200);
    assert.deepEqual(again, { accepted: 0, duplicates: 5, errors: [] });
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}`), 5);
  });

  test('events_api_needs_a_key_with_sales_role', async () => {
    assertError(await srv.api('POST', '/api/v1/events', { type: 'track', event: 'x', userId: 'u' }, { key: null }),
      401, 'unauthorized');
    const viewer = expectStatus(await srv.api('POST', '/api/v1/api-keys', { name: 'viewer', role: 'viewer' }), 201);
    assertError(await srv.api('POST', '/api/v1/events', { type: 'track', event: 'x', userId: 'u' }, { key: viewer.key }),
      403, 'forbidden');
    assertError(await srv.api('POST', '/api/v1/sites', { name: 'x' }, { key: viewer.key }), 403, 'forbidden');
  });

  test('identify_by_user_id_creates_contact_and_claims_earlier_user_events', async () => {
    const userId = `user-${rand()}`;
    const email = uniqueEmail('ident');
    const name = `Before Identify ${rand()}`;
    expectStatus(await srv.api('POST', '/api/v1/events', { type: 'track', event: name, userId }), 200);
    const res = await srv.api('POST', '/api/v1/events', {
      type: 'identify', userId, traits: { email, firstName: 'Taro', lastName: 'Yamada', company: 'Acme KK', plan: 'x' },
    });
    assert.equal(expectStatus(res, 200).accepted, 1, res.info);
    const contact = await contactByEmail(srv, email);
    assert.ok(contact, 'identify created the contact');
    assert.equal(contact.first_name, 'Taro');
    assert.equal(contact.last_name, 'Yamada');
    assert.equal(contact.company?.name, 'Acme KK');
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}&contact_id=${contact.id}`), 1);
    // Later events by the same userId land on the contact directly.
    expectStatus(await srv.api('POST', '/api/v1/events', { type: 'track', event: name, userId }), 200);
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}&contact_id=${contact.id}`), 2);
  });

  test('identify_with_a_bad_trait_is_reported_and_writes_nothing', async () => {
    const email = uniqueEmail('badtrait');
    const res = await srv.api('POST', '/api/v1/events', {
      batch: [
        { type: 'identify', userId: `u-${rand()}`, traits: { email, phone: 'not a phone' } },
        { type: 'identify', userId: `u-${rand()}`, traits: { email: 'not-an-email' } },
      ],
    });
    const body = expectStatus(res, 200);
    assert.equal(body.accepted, 0, res.info);
    assert.deepEqual(body.errors.map((e) => [e.index, e.field]), [[0, 'traits.phone'], [1, 'traits.email']], res.info);
    assert.equal(await contactByEmail(srv, email), undefined);
  });

  test('events_count_filters_by_event_contact_and_since', async () => {
    const email = uniqueEmail('count');
    const name = `Counted ${rand()}`;
    const batch = [
      { type: 'track', event: name, email, timestamp: '2026-03-01T00:00:00Z' },
      { type: 'track', event: name, email, timestamp: '2026-05-01T00:00:00Z' },
      { type: 'track', event: name, userId: `other-${rand()}`, timestamp: '2026-05-01T00:00:00Z' },
    ];
    expectStatus(await srv.api('POST', '/api/v1/events', { batch }), 200);
    const contact = await contactByEmail(srv, email);
    assert.ok(contact, 'an event with an email makes the contact');
    const ev = encodeURIComponent(name);
    assert.equal(await count(srv, `event=${ev}`), 3);
    assert.equal(await count(srv, `event=${ev}&contact_id=${contact.id}`), 2);
    assert.equal(await count(srv, `event=${ev}&contact_id=${contact.id}&since=2026-04-01T00:00:00Z`), 1);
    assert.equal(await count(srv, `event=${ev}&since=2026-06-01T00:00:00%2B09:00`), 0);
    assertError(await srv.api('GET', '/api/v1/events/count?event=x&since=soon'), 400, 'invalid_parameter', 'since');
    assertError(await srv.api('GET', '/api/v1/events/count?event=x&contact_id=abc'), 400, 'invalid_parameter', 'contact_id');
  });
});

describe('sites', () => {
  test('site_crud_includes_snippet_and_normalizes_origins', async () => {
    const site = await createSite(srv, { allowed_origins: ['HTTPS://Shop.Example.com/', 'https://*.example.jp'] });
    assertKeys(site, SITE_KEYS, { what: 'site' });
    assert.match(site.site_key, /^kzs_[0-9a-f]{24}$/);
    assert.deepEqual(site.allowed_origins, ['https://shop.example.com', 'https://*.example.jp']);
    assert.equal(site.bot_filter, true);
    assert.equal(site.anonymize_ip, false);
    assert.equal(site.respect_dnt, false);
    assert.equal(site.retention_days, 400);
    assert.match(site.created_at, ISO_UTC);
    assert.ok(site.snippet.includes(`src="${srv.url}/kz.js"`), site.snippet);
    assert.ok(site.snippet.includes(`data-site="${site.site_key}"`), site.snippet);
    assert.deepEqual(expectStatus(await srv.api('GET', `/api/v1/sites/${site.id}`), 200), site);
    const all = await listAll(srv, '/api/v1/sites');
    assert.ok(all.some((x) => x.id === site.id));

    const patched = expectStatus(await srv.api('PATCH', `/api/v1/sites/${site.id}`,
      { respect_dnt: true, anonymize_ip: true, retention_days: 30, rotate_key: true }), 200);
    assert.equal(patched.respect_dnt, true);
    assert.equal(patched.anonymize_ip, true);
    assert.equal(patched.retention_days, 30);
    assert.notEqual(patched.site_key, site.site_key);
    assert.ok(patched.snippet.includes('data-dnt="1"'));

    assertError(await srv.api('PATCH', `/api/v1/sites/${site.id}`, { allowed_origins: ['https://x.com/path'] }),
      422, 'invalid_field', 'allowed_origins');
    assertError(await srv.api('POST', '/api/v1/sites', {}), 422, 'invalid_field', 'name');
    assertError(await srv.api('POST', '/api/v1/sites', { name: 'x', colour: 'red' }), 422, 'unknown_field', 'colour');
    const del = await srv.api('DELETE', `/api/v1/sites/${site.id}`);
    assert.equal(del.status, 204, del.info);
    assertError(await srv.api('GET', `/api/v1/sites/${site.id}`), 404, 'not_found');
  });
});

describe('public collector', () => {
  test('kz_js_is_small_and_cached_with_an_etag', async () => {
    const res = await srv.api('GET', '/kz.js', undefined, { key: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /javascript/);
    assert.ok(res.body.length < 6 * 1024, `kz.js is ${res.body.length} bytes`);
    for (const word of ['pushState', 'sendBeacon', 'keepalive', 'kz_vid', 'localStorage', 'consent']) {
      assert.ok(res.text.includes(word), `kz.js mentions ${word}`);
    }
    const etag = res.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]+"$/);
    const again = await srv.api('GET', '/kz.js', undefined, { key: null, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  test('identify_stitches_anonymous_page_views_onto_the_contact_timeline', async () => {
    const site = await createSite(srv);
    const anon = randomUUID();
    const email = uniqueEmail('stitch');
    const landing = 'https://www.example.com/?utm_source=newsletter&utm_medium=email&utm_campaign=autumn';
    const r1 = await collect(srv, {
      site_key: site.site_key,
      batch: [
        pageEvent(anon, landing, { context: { url: landing, title: 'Home', referrer: 'https://mail.example.net/' } }),
        pageEvent(anon, 'https://www.example.com/pricing'),
        { type: 'track', event: 'Viewed Demo', anonymousId: anon, properties: { length: 90 },
          context: { url: 'https://www.example.com/demo' } },
      ],
    });
    assert.deepEqual(expectStatus(r1, 200), { accepted: 3, duplicates: 0, errors: [] });
    assert.equal(r1.headers.get('access-control-allow-origin'), ORIGIN);

    const r2 = await collect(srv, {
      site_key: site.site_key,
      batch: [{ type: 'identify', anonymousId: anon, traits: { email, name: '山田 花子' } }],
    });
    assert.equal(expectStatus(r2, 200).accepted, 1, r2.info);
    const contact = await contactByEmail(srv, email);
    assert.ok(contact);
    assert.equal(contact.last_name, '山田');
    assert.equal(contact.first_name, '花子');

    const tl = expectStatus(await srv.api('GET', `/api/v1/contacts/${contact.id}/timeline`), 200);
    assert.deepEqual(tl.data.map((e) => [e.type, e.name]), [
      ['identify', 'identify'], ['track', 'Viewed Demo'], ['page', 'page_view'], ['page', 'page_view'],
    ]);
    for (const e of tl.data) {
      assertKeys(e, EVENT_KEYS, { what: 'event' });
      assert.equal(e.contact_id, contact.id);
      assert.equal(e.site_id, site.id);
      assert.match(e.occurred_at, ISO_UTC);
    }
    const first = tl.data[3];
    assert.equal(first.context.url, landing);
    assert.equal(first.context.utm_source, 'newsletter');
    assert.equal(first.context.path, '/');
    assert.equal(first.context.title, 'Home');
    assert.equal(first.context.ua, BROWSER_UA);
    assert.ok(first.session_id, 'page views belong to a session');
    assert.equal(tl.data[2].session_id, first.session_id);

    const pages = expectStatus(await srv.api('GET', `/api/v1/contacts/${contact.id}/timeline?type=page&limit=1`), 200);
    assert.equal(pages.data.length, 1);
    assert.equal(pages.data[0].context.path, '/pricing');
    assert.ok(pages.next_cursor);
    const next = expectStatus(await srv.api('GET',
      `/api/v1/contacts/${contact.id}/timeline?type=page&limit=1&cursor=${encodeURIComponent(pages.next_cursor)}`), 200);
    assert.deepEqual(next.data.map((e) => e.context.path), ['/']);
    assert.equal(next.next_cursor, null);

    const attr = expectStatus(await srv.api('GET', `/api/v1/contacts/${contact.id}/attribution`), 200);
    assert.equal(attr.first_touch.source, 'newsletter');
    assert.equal(attr.first_touch.medium, 'email');
    assert.equal(attr.first_touch.campaign, 'autumn');
    assert.equal(attr.last_touch.source, 'newsletter');

    // Later page views of the same browser go straight to the contact.
    expectStatus(await collect(srv, { site_key: site.site_key, batch: [pageEvent(anon, 'https://www.example.com/thanks')] }), 200);
    assert.equal(await count(srv, `event=page_view&contact_id=${contact.id}`), 3);
  });

  test('server_identify_with_browser_anonymous_id_stitches_that_visitor', async () => {
    const site = await createSite(srv);
    const anon = randomUUID();
    const email = uniqueEmail('srvstitch');
    expectStatus(await collect(srv, { site_key: site.site_key, batch: [pageEvent(anon, 'https://www.example.com/a')] }), 200);
    expectStatus(await srv.api('POST', '/api/v1/events', { type: 'identify', anonymousId: anon, traits: { email } }), 200);
    const contact = await contactByEmail(srv, email);
    assert.equal(await count(srv, `event=page_view&contact_id=${contact.id}`), 1);
    const visitors = expectStatus(await srv.api('GET', `/api/v1/visitors?contact_id=${contact.id}`), 200);
    assert.equal(visitors.data.length, 1);
    assert.equal(visitors.data[0].anonymous_id, anon);
    assert.equal(visitors.data[0].site_id, site.id);
  });

  test('visitors_list_anonymous_visitors_with_sessions_and_pages', async () => {
    const s = await startServer();
    const site = await createSite(s);
    const anon = randomUUID();
    expectStatus(await collect(s, {
      site_key: site.site_key,
      batch: [
        pageEvent(anon, 'https://www.example.com/lp?gclid=abc'),
        pageEvent(anon, 'https://www.example.com/features'),
      ],
    }), 200);
    const list = expectStatus(await s.api('GET', '/api/v1/visitors?anonymous=true'), 200);
    assert.equal(list.data.length, 1);
    const v = list.data[0];
    assert.equal(v.anonymous_id, anon);
    assert.equal(v.contact_id, null);
    assert.equal(v.user_agent, BROWSER_UA);
    assert.equal(v.first_touch.source, 'google');
    assert.equal(v.first_touch.medium, 'cpc');
    const detail = expectStatus(await s.api('GET', `/api/v1/visitors/${v.id}`), 200);
    assert.equal(detail.sessions.length, 1);
    assert.equal(detail.sessions[0].page_count, 2);
    assert.equal(detail.sessions[0].landing_url, 'https://www.example.com/lp?gclid=abc');
    assert.deepEqual(detail.events.map((e) => e.context.path), ['/features', '/lp']);
    assertError(await s.api('GET', '/api/v1/visitors/999999'), 404, 'not_found');
    assertError(await s.api('GET', '/api/v1/visitors?anonymous=maybe'), 400, 'invalid_parameter', 'anonymous');
  });

  test('pixel_always_answers_a_gif', async () => {
    const site = await createSite(srv);
    const before = await count(srv, 'event=page_view');
    for (const q of ['', '?k=nope', `?k=${site.site_key}&u=${encodeURIComponent('https://www.example.com/noscript')}`,
      `?k=${site.site_key}&t=track&e=${encodeURIComponent('Email Opened')}`, '?k=%ff%fe&a=']) {
      const res = await srv.api('GET', `/t/p.gif${q}`, undefined, { key: null, headers: { 'user-agent': BROWSER_UA } });
      assert.equal(res.status, 200, res.info);
      assert.equal(res.headers.get('content-type'), 'image/gif');
      assert.equal(res.body.subarray(0, 6).toString('latin1'), 'GIF89a');
      assert.equal(res.body.length, 43);
      assert.match(res.headers.get('cache-control'), /no-store/);
    }
    assert.equal(await count(srv, 'event=page_view'), before + 1);
    // No anonymousId: the same browser on the same day is one visitor, not one per hit.
    const bot = await srv.api('GET', `/t/p.gif?k=${site.site_key}`, undefined, { key: null, headers: { 'user-agent': 'Googlebot/2.1' } });
    assert.equal(bot.status, 200);
    assert.equal(await count(srv, 'event=page_view'), before + 1);
  });

  test('pixel_flood_from_one_address_is_dropped_as_a_bot', async () => {
    // Its own server: the flood counter is per process and per minute.
    const s = await startServer();
    const site = await createSite(s);
    const before = await metric(s, 'kizuna_track_bot_dropped_total');
    const t0 = Date.now();
    for (let i = 0; i < 130; i++) {
      const res = await s.api('GET', `/t/p.gif?k=${site.site_key}&u=${encodeURIComponent(`https://www.example.com/mail/${i}`)}`,
        undefined, { key: null, headers: { 'user-agent': BROWSER_UA } });
      assert.equal(res.status, 200); // the image is always served
    }
    // The counter resets each wall-clock minute; a run that straddles one may keep more.
    const minutes = Math.floor(Date.now() / 60000) - Math.floor(t0 / 60000) + 1;
    const kept = await count(s, 'event=page_view');
    assert.ok(kept <= Math.min(130, 120 * minutes), `kept ${kept} pixel hits from one address`);
    assert.ok(kept >= 100, `kept only ${kept}: the limit should not bite before 120`);
    assert.equal(await metric(s, 'kizuna_track_bot_dropped_total'), before + (130 - kept));
  });

  test('collector_drops_bots_and_headless_browsers_and_counts_them', async () => {
    const site = await createSite(srv);
    const before = await metric(srv, 'kizuna_track_bot_dropped_total');
    const name = `Bot ${rand()}`;
    const ev = (extra = {}) => ({ type: 'track', event: name, anonymousId: randomUUID(), ...extra });
    for (const ua of ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36',
      'curl/8.5.0', '']) {
      const res = await collect(srv, { site_key: site.site_key, batch: [ev(), ev()] }, { ua });
      assert.equal(expectStatus(res, 200).accepted, 0, res.info);
      assert.equal(res.json.dropped, 2, res.info);
    }
    const wd = await collect(srv, { site_key: site.site_key, batch: [ev({ context: { webdriver: true } }), ev()] });
    assert.equal(expectStatus(wd, 200).accepted, 1, wd.info);
    assert.equal(wd.json.dropped, 1);
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}`), 1);
    assert.equal(await metric(srv, 'kizuna_track_bot_dropped_total'), before + 9);
    const list = expectStatus(await srv.api('GET', `/api/v1/visitors?site_id=${site.id}`), 200);
    assert.equal(list.data.length, 1, 'bots never create visitors');

    // A site may turn the filter off (e.g. for its own browser tests).
    const open = await createSite(srv, { bot_filter: false });
    const res = await collect(srv, { site_key: open.site_key, batch: [ev({ context: { webdriver: true } })] },
      { ua: 'HeadlessChrome/126.0' });
    assert.equal(expectStatus(res, 200).accepted, 1, res.info);
  });

  test('collector_cors_is_limited_to_the_site_allowed_origins', async () => {
    const site = await createSite(srv, { allowed_origins: ['https://shop.example.com', 'https://*.example.org'] });
    const name = `Cors ${rand()}`;
    const body = () => ({ site_key: site.site_key, batch: [{ type: 'track', event: name, anonymousId: randomUUID() }] });

    const ok = await collect(srv, body(), { origin: 'https://shop.example.com' });
    assert.equal(expectStatus(ok, 200).accepted, 1, ok.info);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example.com');
    const sub = await collect(srv, body(), { origin: 'https://blog.example.org' });
    assert.equal(expectStatus(sub, 200).accepted, 1, sub.info);

    const evil = await collect(srv, body(), { origin: 'https://evil.example.net' });
    assertError(evil, 403, 'origin_not_allowed');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assertError(await collect(srv, body(), { origin: 'https://example.org' }), 403, 'origin_not_allowed');

    const noOrigin = await collect(srv, body(), { origin: null });
    assert.equal(expectStatus(noOrigin, 200).accepted, 1, noOrigin.info);
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}`), 3);

    const pre = await srv.api('OPTIONS', '/t/collect', undefined, {
      key: null, headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204, pre.info);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.example.com');
    assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
    const badPre = await srv.api('OPTIONS', '/t/collect', undefined, {
      key: null, headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
    });
    assert.equal(badPre.status, 403, badPre.info);
    assert.equal(badPre.headers.get('access-control-allow-origin'), null);

    assertError(await collect(srv, { site_key: 'kzs_nope', batch: [] }), 404, 'unknown_site', 'site_key');
  });

  test('collector_honours_dnt_and_truncates_ip_per_site', async () => {
    const s = await startServer();
    const site = await createSite(s, { respect_dnt: true, anonymize_ip: true });
    const anon = randomUUID();
    const dnt = await collect(s, { site_key: site.site_key, batch: [pageEvent(randomUUID(), 'https://www.example.com/')] },
      { headers: { dnt: '1' } });
    assert.equal(expectStatus(dnt, 200).accepted, 0, dnt.info);
    const gpc = await collect(s, { site_key: site.site_key, batch: [pageEvent(randomUUID(), 'https://www.example.com/')] },
      { headers: { 'sec-gpc': '1' } });
    assert.equal(expectStatus(gpc, 200).accepted, 0, gpc.info);
    assert.equal(expectStatus(await collect(s, { site_key: site.site_key, batch: [pageEvent(anon, 'https://www.example.com/')] }), 200).accepted, 1);
    const list = expectStatus(await s.api('GET', '/api/v1/visitors'), 200);
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].ip, '127.0.0.0');
  });

  test('merge_moves_events_and_visitors_to_the_surviving_contact', async () => {
    const a = uniqueEmail('mergea');
    const b = uniqueEmail('mergeb');
    const name = `Merge ${rand()}`;
    expectStatus(await srv.api('POST', '/api/v1/events', {
      batch: [
        { type: 'identify', anonymousId: `m-${rand()}`, traits: { email: a } },
        { type: 'track', event: name, email: a },
        { type: 'identify', anonymousId: `m-${rand()}`, traits: { email: b } },
        { type: 'track', event: name, email: b },
      ],
    }), 200);
    const ca = await contactByEmail(srv, a);
    const cb = await contactByEmail(srv, b);
    expectStatus(await srv.api('POST', '/api/v1/contacts/merge', { into: ca.id, from: cb.id }), 200);
    assert.equal(await count(srv, `event=${encodeURIComponent(name)}&contact_id=${ca.id}`), 2);
    const visitors = expectStatus(await srv.api('GET', `/api/v1/visitors?contact_id=${ca.id}`), 200);
    assert.equal(visitors.data.length, 2);
    assertError(await srv.api('GET', `/api/v1/contacts/${cb.id}/timeline`), 404, 'not_found');
  });
});

describe('retention', () => {
  test('events_past_retention_become_daily_rollups', async () => {
    const s = await startServer({ env: { KIZUNA_PRUNE_INTERVAL_SECONDS: '1', KIZUNA_EVENT_RETENTION_DAYS: '30' } });
    const site = await createSite(s, { retention_days: 10 });
    const anon = randomUUID();
    const email = uniqueEmail('retention');
    const ago = (days) => new Date(Date.now() - days * 86400000).toISOString();
    const old = ago(20);
    const older = ago(40);
    expectStatus(await collect(s, {
      site_key: site.site_key,
      batch: [
        pageEvent(anon, 'https://www.example.com/a', { timestamp: old }),
        pageEvent(anon, 'https://www.example.com/b', { timestamp: old }),
        pageEvent(anon, 'https://www.example.com/c'),
        { type: 'identify', anonymousId: anon, traits: { email } },
      ],
    }), 200);
    expectStatus(await s.api('POST', '/api/v1/events', {
      batch: [
        { type: 'track', event: 'Old Order', email, timestamp: older },
        { type: 'track', event: 'Recent Order', email, timestamp: ago(20) },
      ],
    }), 200);
    const contact = await contactByEmail(s, email);
    await waitFor(async () => (await count(s, `event=page_view&contact_id=${contact.id}`)) === 1,
      { timeout: 15000, what: 'page views past the site retention to be pruned' });
    await waitFor(async () => (await count(s, 'event=Old%20Order')) === 0,
      { timeout: 15000, what: 'server events past KIZUNA_EVENT_RETENTION_DAYS to be pruned' });
    assert.equal(await count(s, 'event=Recent%20Order'), 1);
    const rollups = expectStatus(await s.api('GET', `/api/v1/contacts/${contact.id}/rollups`), 200).data;
    assert.deepEqual(rollups, [
      { day: older.slice(0, 10), name: 'Old Order', count: 1 },
      { day: old.slice(0, 10), name: 'page_view', count: 2 },
    ]);
    assert.ok(await metric(s, 'kizuna_track_pruned_total') >= 3);
  });

  test('anonymous_visitors_not_seen_within_retention_are_pruned_known_ones_stay', async () => {
    const s = await startServer({ env: { KIZUNA_PRUNE_INTERVAL_SECONDS: '1' } });
    const site = await createSite(s, { retention_days: 10 });
    const ago = (days) => new Date(Date.now() - days * 86400000).toISOString();
    const gone = `gone-${randomUUID()}`, recent = `recent-${randomUUID()}`, known = `known-${randomUUID()}`;
    const email = uniqueEmail('oldknown');
    expectStatus(await collect(s, {
      site_key: site.site_key,
      batch: [
        pageEvent(gone, 'https://www.example.com/old', { timestamp: ago(20) }),
        pageEvent(recent, 'https://www.example.com/old', { timestamp: ago(20) }),
        pageEvent(recent, 'https://www.example.com/new'),
        pageEvent(known, 'https://www.example.com/old', { timestamp: ago(20) }),
      ],
    }), 200);
    expectStatus(await collect(s, {
      site_key: site.site_key, type: 'identify', anonymousId: known, traits: { email }, timestamp: ago(20),
    }), 200);
    const ids = async () => new Set((await listAll(s, '/api/v1/visitors')).map((v) => v.anonymous_id));
    await waitFor(async () => !(await ids()).has(gone),
      { timeout: 15000, what: 'the anonymous visitor last seen 20 days ago to be pruned' });
    const left = await ids();
    assert.ok(left.has(recent), 'a visitor seen today stays');
    assert.ok(left.has(known), "a known person's visitor is never pruned, however old");
    const contact = await contactByEmail(s, email);
    assert.equal((await listAll(s, '/api/v1/visitors')).find((v) => v.anonymous_id === known).contact_id, contact.id);
  });

  test('events_of_a_deleted_site_are_pruned_after_the_default_retention', async () => {
    const s = await startServer({ env: { KIZUNA_PRUNE_INTERVAL_SECONDS: '1', KIZUNA_EVENT_RETENTION_DAYS: '30' } });
    const site = await createSite(s, { retention_days: 3650 });
    const anon = randomUUID();
    const ago = (days) => new Date(Date.now() - days * 86400000).toISOString();
    expectStatus(await collect(s, {
      site_key: site.site_key,
      batch: [
        { type: 'track', event: 'Gone Site Old', anonymousId: anon, timestamp: ago(40) },
        { type: 'track', event: 'Gone Site New', anonymousId: anon },
      ],
    }), 200);
    assert.equal(await count(s, 'event=Gone%20Site%20Old'), 1);
    expectStatus(await s.api('DELETE', `/api/v1/sites/${site.id}`), 204);
    await waitFor(async () => (await count(s, 'event=Gone%20Site%20Old')) === 0,
      { timeout: 15000, what: "a deleted site's old events to be pruned" });
    assert.equal(await count(s, 'event=Gone%20Site%20New'), 1);
  });
});

describe('durability', () => {
  test('kill9_during_a_stream_of_acknowledged_events_loses_none', async () => {
    const s = await startServer();
    const name = `Durable ${rand()}`;
    let acked = 0;
    let sent = 0;
    let stop = false;
    const worker = async (w) => {
      for (let i = 0; !stop; i++) {
        const batch = Array.from({ length: 1 + (i % 3) }, () => ({
          type: 'track', event: name, userId: `w${w}`, messageId: randomUUID(),
        }));
        sent += batch.length;
        try {
          const res = await s.api('POST', '/api/v1/events', { batch }, { timeout: 5000 });
          if (res.status === 200) acked += res.json.accepted;
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 2000));
    await s.kill9();
    stop = true;
    await Promise.all(workers);
    assert.ok(acked > 10, `only ${acked} events were acknowledged before the kill`);
    await s.start();
    const stored = await count(s, `event=${encodeURIComponent(name)}`);
    assert.ok(stored >= acked, `acknowledged ${acked} events but only ${stored} survived kill -9`);
    assert.ok(stored <= sent, `stored ${stored} events but only ${sent} were sent`);
  });
});
