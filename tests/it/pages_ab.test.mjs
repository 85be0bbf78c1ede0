// pages_ab.test.mjs — black-box tests of landing-page A/B tests: weighted sticky split per
// visitor (cookie), visits and conversions per variant, the winner, promoting a variant.

import assert from 'node:assert/strict';
import { assertError, before, describe, expectStatus, startServer, test, uniqueEmail } from './harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});

const rand = () => Math.random().toString(36).slice(2, 8);

/** A browser with its own cookie jar. */
function visitor() {
  const jar = new Map();
  const remember = (res) => {
    for (const c of res.headers.getSetCookie?.() ?? []) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    async get(path) {
      const res = await srv.api('GET', path, undefined, { key: null, headers: jar.size ? { cookie: cookie() } : {} });
      remember(res);
      return res;
    },
    async post(path, body, headers = {}) {
      const res = await srv.api('POST', path, undefined, {
        key: null, raw: body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: cookie(), ...headers },
      });
      remember(res);
      return res;
    },
  };
}

async function abPage(extra = {}) {
  const form = expectStatus(await srv.api('POST', '/api/v1/forms', {
    name: `LP form ${rand()}`,
    fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メール', en: 'Email' }, maps_to: 'email' }],
    settings: { min_fill_seconds: 0, rate_limit_per_minute: 10000 },
  }), 201);
  const slug = `ab-${rand()}`;
  const page = expectStatus(await srv.api('POST', '/api/v1/pages', {
    slug, title: '無料トライアル', published: true,
    blocks: [{ type: 'hero', heading: '今すぐ始めよう' }, { type: 'form', form_id: form.id }],
    variants: [{ key: 'b', weight: 50, title: '14日間無料', blocks: [{ type: 'hero', heading: '14日間、無料でお試し' }, { type: 'form', form_id: form.id }] }],
    ...extra,
  }), 201);
  return { form, slug, page };
}

async function convert(v, form, slug) {
  const frag = await srv.api('GET', `/f/${form.id}?format=fragment`, undefined, { key: null });
  const t = /name="_kz_t" value="([^"]+)"/.exec(frag.text)[1];
  const res = await v.post(`/f/${form.id}`, new URLSearchParams({ email: uniqueEmail('ab'), _kz_t: t, _kz_page: `${srv.url}/p/${slug}` }).toString());
  assert.equal(res.status, 200, res.info);
}

describe('landing page A/B tests', () => {
  test('visitors_split_by_weight_and_stay_on_their_variant', async () => {
    const { slug, page } = await abPage();
    assert.equal(page.ab.status, 'collecting');
    assert.deepEqual(page.ab.variants.map((x) => [x.key, x.weight]), [['a', 50], ['b', 50]]);
    const seen = { a: 0, b: 0 };
    for (let i = 0; i < 60; i++) {
      const v = visitor();
      const first = await v.get(`/p/${slug}`);
      assert.equal(first.status, 200);
      assert.match(first.headers.get('cache-control'), /private/);
      assert.equal(first.headers.get('vary'), 'Cookie');
      const key = v.jar.get(`kz_ab_${slug}`);
      assert.ok(key === 'a' || key === 'b', key);
      assert.ok(v.jar.get('kz_vid'), 'a visitor id for kz.js');
      seen[key]++;
      assert.ok(first.text.includes(key === 'b' ? '14日間、無料でお試し' : '今すぐ始めよう'));
      assert.ok(first.text.includes(key === 'b' ? '<title>14日間無料</title>' : '<title>無料トライアル</title>'));
      const again = await v.get(`/p/${slug}`);
      assert.equal(v.jar.get(`kz_ab_${slug}`), key, 'sticky');
      assert.ok(again.text.includes(key === 'b' ? '14日間、無料でお試し' : '今すぐ始めよう'));
    }
    assert.ok(seen.a >= 15 && seen.b >= 15, JSON.stringify(seen));
    const got = expectStatus(await srv.api('GET', `/api/v1/pages/${page.id}`), 200);
    assert.equal(got.ab.variants[0].visits, seen.a, 'one visit per visitor, not per view');
    assert.equal(got.ab.variants[1].visits, seen.b);
  });

  test('conversions_count_once_per_visitor_and_a_clear_winner_is_named', async () => {
    const { slug, page, form } = await abPage({ variants: [{ key: 'b', weight: 50, title: 'B' }] });
    let visits = { a: 0, b: 0 }, convs = { a: 0, b: 0 };
    for (let i = 0; i < 100; i++) {
      const v = visitor();
      await v.get(`/p/${slug}`);
      const key = v.jar.get(`kz_ab_${slug}`);
      visits[key]++;
      // b converts nearly always, a rarely
      if ((key === 'b' && i % 10 !== 0) || (key === 'a' && i % 10 === 0)) {
        await convert(v, form, slug);
        convs[key]++;
        if (i % 3 === 0) await convert(v, form, slug); // a second submission is not a second conversion
      }
    }
    const got = expectStatus(await srv.api('GET', `/api/v1/pages/${page.id}`), 200);
    const by = Object.fromEntries(got.ab.variants.map((x) => [x.key, x]));
    assert.equal(by.a.visits, visits.a);
    assert.equal(by.b.conversions, convs.b);
    assert.equal(by.a.conversions, convs.a);
    assert.ok(Math.abs(by.b.conversion_rate - convs.b / visits.b) < 1e-9);
    if (visits.a >= 30 && visits.b >= 30) {
      assert.equal(got.ab.status, 'winner', JSON.stringify(got.ab));
      assert.equal(got.ab.winner, 'b');
      assert.ok(got.ab.confidence > 0.95);
    }
    // promote b: its title becomes the page's, the test ends
    const promoted = expectStatus(await srv.api('POST', `/api/v1/pages/${page.id}/variants/b/promote`, {}), 200);
    assert.equal(promoted.title, 'B');
    assert.deepEqual(promoted.variants, []);
    assert.equal(promoted.ab, undefined);
    const v = visitor();
    const res = await v.get(`/p/${slug}`);
    assert.ok(res.text.includes('<title>B</title>'));
    assert.match(res.headers.get('cache-control'), /public/);
    assert.equal(v.jar.get(`kz_ab_${slug}`), undefined);
    assertError(await srv.api('POST', `/api/v1/pages/${page.id}/variants/zz/promote`, {}), 404, 'not_found', 'key');
  });

  test('bad_variants_are_refused', async () => {
    const base = { slug: `bad-${rand()}`, title: 't', blocks: [] };
    const bad = async (variants, field = 'variants') =>
      assertError(await srv.api('POST', '/api/v1/pages', { ...base, variants }), 422, 'invalid_field', field);
    await bad([{ key: 'a', weight: 50 }], 'variants[0]');
    await bad([{ key: 'b', weight: 0 }], 'variants[0]');
    await bad([{ key: 'b', weight: 60 }, { key: 'c', weight: 40 }]);
    await bad([{ key: 'b', weight: 10 }, { key: 'b', weight: 10 }], 'variants[1]');
    await bad([{ key: 'b', weight: 10, blocks: [{ type: 'nope' }] }], 'variants[0].blocks[0]');
    await bad([{ key: 'B!', weight: 10 }], 'variants[0]');
    assertError(await srv.api('POST', '/api/v1/pages', { ...base, variants: [{ key: 'b', weight: 10, colour: 1 }] }), 422, 'unknown_field', 'variants[0]');
    assert.equal((await srv.api('GET', `/p/${base.slug}`, undefined, { key: null })).status, 404, 'nothing was stored');
  });
});
