// pages_personalize.test.mjs — black-box tests of web personalization: slots and their rules
// (first visit vs returning, known, segment/list, stage, score, UTM), GET /t/content,
// pop-up offers, impressions and clicks per variant, and bad definitions refused.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { assertError, before, describe, expectStatus, startServer, test, uniqueEmail, waitFor } from './harness.mjs';

let srv, site;
const ORIGIN = 'https://www.example.com';
const rand = () => randomUUID().slice(0, 8);

before(async () => {
  srv = await startServer({ env: { KIZUNA_CLOCK: 'manual' } });
  site = expectStatus(await srv.api('POST', '/api/v1/sites', { name: `Web ${rand()}`, allowed_origins: [ORIGIN] }), 201);
});

const content = async (q) => {
  const res = await srv.api('GET', `/t/content?${new URLSearchParams({ site: site.site_key, ...q })}`, undefined, { key: null });
  assert.equal(res.status, 200, res.info);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('cache-control'), /no-store/);
  return res.json;
};

function collect(batch) {
  return srv.api('POST', '/t/collect', undefined, {
    key: null, raw: JSON.stringify({ site_key: site.site_key, batch }),
    headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36' },
  });
}

const page = (anon, url) => ({ type: 'page', anonymousId: anon, messageId: randomUUID(), context: { url } });

async function slot(body) {
  return expectStatus(await srv.api('POST', '/api/v1/slots', body), 201);
}

describe('personalization slots', () => {
  test('the_first_matching_variant_shows_new_returning_known_list_and_utm', async () => {
    const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: `VIP ${rand()}`, type: 'static' }), 201);
    const name = `hero-${rand()}`;
    const s = await slot({
      name,
      default: { html: '<h1>ようこそ</h1>' },
      variants: [
        { key: 'vip', label: 'VIP list', rule: { segment_id: list.id }, html: '<h1>VIP の皆さまへ</h1>' },
        { key: 'ad', rule: { utm_campaign: 'autumn' }, html: '<h1>秋のキャンペーン</h1>' },
        { key: 'back', rule: { visitor: 'returning' }, html: '<h1>おかえりなさい</h1>' },
      ],
    });
    assert.equal(s.kind, 'inline');
    assert.equal(s.active, true);
    const vid = randomUUID();

    let got = await content({ vid, slots: `${name},nope`, url: 'https://www.example.com/' });
    assert.deepEqual(Object.keys(got.slots), [name]);
    assert.equal(got.slots[name].variant, 'default');
    assert.equal(got.slots[name].html, '<h1>ようこそ</h1>');
    assert.equal(got.visitor.visits, 1);

    assert.equal((await collect([page(vid, 'https://www.example.com/')])).status, 200);
    await waitFor(async () => (await content({ vid, slots: name })).visitor.visits === 1);
    got = await content({ vid, slots: name, url: 'https://www.example.com/?utm_campaign=autumn' });
    assert.equal(got.slots[name].variant, 'ad', 'UTM of this page');
    got = await content({ vid, slots: name });
    assert.equal(got.slots[name].variant, 'default', 'same visit: not returning yet');

    // 31 minutes later the visitor comes back: a new visit
    expectStatus(await srv.api('POST', '/api/v1/clock', { advance_seconds: 31 * 60 }), 200);
    got = await content({ vid, slots: name });
    assert.equal(got.visitor.visits, 2);
    assert.equal(got.slots[name].variant, 'back');

    // they fill in a form: known, and in the VIP list
    const email = uniqueEmail('vip');
    assert.equal((await collect([{ type: 'identify', anonymousId: vid, messageId: randomUUID(), traits: { email } }])).status, 200);
    const c = await waitFor(async () => {
      const r = expectStatus(await srv.api('GET', `/api/v1/contacts?email=${encodeURIComponent(email)}`), 200);
      return r.data[0];
    }, { what: 'the contact' });
    expectStatus(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { mode: 'append', contact_ids: [c.id] }), 200);
    got = await content({ vid, slots: name });
    assert.equal(got.visitor.known, true);
    assert.equal(got.slots[name].variant, 'vip');

    // impressions counted per variant; a click on a variant
    const ev = await srv.api('POST', `/t/content/event?site=${site.site_key}&slot=${s.id}&variant=vip&type=click`, undefined, { key: null, raw: '' });
    assert.equal(ev.status, 204, ev.info);
    const stats = expectStatus(await srv.api('GET', `/api/v1/slots/${s.id}`), 200).stats;
    assert.equal(stats.default.impressions, 3);
    assert.equal(stats.ad.impressions, 1);
    assert.equal(stats.back.impressions, 1);
    assert.equal(stats.vip.impressions, 1);
    assert.equal(stats.vip.clicks, 1);
    assert.equal(stats.vip.click_rate, 1);
  });

  test('stage_score_and_known_rules', async () => {
    const name = `side-${rand()}`;
    await slot({
      name, default: { html: 'anon' },
      variants: [
        { key: 'hot', rule: { known: true, min_score: 50 }, html: 'hot' },
        { key: 'lead', rule: { stage: ['lead', 'mql'] }, html: 'lead' },
        { key: 'known', rule: { known: true }, html: 'known' },
      ],
    });
    const vid = randomUUID();
    assert.equal((await content({ vid, slots: name })).slots[name].variant, 'default');
    const email = uniqueEmail('stage');
    assert.equal((await collect([{ type: 'identify', anonymousId: vid, messageId: randomUUID(), traits: { email } }])).status, 200);
    await waitFor(async () => (await content({ vid, slots: name })).visitor.known);
    const c = expectStatus(await srv.api('GET', `/api/v1/contacts?email=${encodeURIComponent(email)}`), 200).data[0];
    const stages = expectStatus(await srv.api('GET', '/api/v1/stages'), 200);
    assert.ok(stages.stages.includes('lead'), JSON.stringify(stages));
    expectStatus(await srv.api('PUT', `/api/v1/contacts/${c.id}/stage`, { stage: 'subscriber' }), 200);
    assert.equal((await content({ vid, slots: name })).slots[name].variant, 'known');
    expectStatus(await srv.api('PUT', `/api/v1/contacts/${c.id}/stage`, { stage: 'lead' }), 200);
    assert.equal((await content({ vid, slots: name })).slots[name].variant, 'lead');
  });

  test('popups_are_offered_with_their_trigger_and_cap_and_a_form_becomes_its_embed', async () => {
    const form = expectStatus(await srv.api('POST', '/api/v1/forms', {
      name: `popup form ${rand()}`,
      fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メール', en: 'Email' }, maps_to: 'email' }],
    }), 201);
    const p = await slot({
      name: `pop-${rand()}`, kind: 'popup',
      default: { html: '' },
      variants: [{ key: 'newcomer', rule: { visitor: 'new' }, form_id: form.id }],
      popup: { style: 'modal', trigger: { type: 'time', seconds: 2 }, frequency: { max: 1, days: 0 } },
    });
    const got = await content({ vid: randomUUID(), popups: '1' });
    const offer = got.popups.find((x) => x.id === p.id);
    assert.ok(offer, JSON.stringify(got));
    assert.equal(offer.variant, 'newcomer');
    assert.equal(offer.html, `<script src="${srv.url}/f/${form.id}.js" async></script>`);
    assert.deepEqual(offer.popup, { style: 'modal', trigger: { type: 'time', seconds: 2 }, frequency: { max: 1, days: 0 } });
    const none = await content({ vid: randomUUID() });
    assert.equal(none.popups.length, 0, 'only asked for with popups=1');
    const js = await srv.api('GET', '/t/pop.js', undefined, { key: null });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    assert.match(js.text, /kz_pop_/);
  });

  test('bad_definitions_and_requests_are_refused_and_change_nothing', async () => {
    const bad = async (body, status, code, field) => assertError(await srv.api('POST', '/api/v1/slots', body), status, code, field);
    await bad({ name: 'has space', default: { html: 'x' } }, 422, 'invalid_field', 'name');
    await bad({ name: 'a' }, 422, 'invalid_field', 'default');
    await bad({ name: 'a', default: { html: 'x', form_id: 1 } }, 422, 'invalid_field', 'default');
    await bad({ name: 'a', default: { html: 'x' }, variants: [{ key: 'v', html: 'y', rule: { visitor: 'old' } }] }, 422, 'invalid_field', 'variants[0].rule.visitor');
    await bad({ name: 'a', default: { html: 'x' }, variants: [{ key: 'v', html: 'y', rule: { weather: 'rain' } }] }, 422, 'unknown_field', 'variants[0].rule.weather');
    await bad({ name: 'a', default: { html: 'x' }, variants: [{ key: 'v', html: 'y' }, { key: 'v', html: 'z' }] }, 422, 'invalid_field', 'variants[1].key');
    await bad({ name: 'a', default: { html: 'x' }, variants: [{ key: 'default', html: 'y' }] }, 422, 'invalid_field', 'variants[0].key');
    await bad({ name: 'a', kind: 'popup', default: { html: '' } }, 422, 'invalid_field', 'popup');
    await bad({ name: 'a', kind: 'popup', default: { html: '' }, popup: { style: 'modal', trigger: { type: 'scroll' }, frequency: { max: 1, days: 0 } } }, 422, 'invalid_field', 'popup.trigger.percent');
    await bad({ name: 'a', default: { html: 'x' }, colour: 'red' }, 422, 'unknown_field', 'colour');
    const name = `dup-${rand()}`;
    await slot({ name, default: { html: 'x' } });
    await bad({ name, default: { html: 'y' } }, 409, 'conflict', 'name');
    const all = expectStatus(await srv.api('GET', '/api/v1/slots'), 200).data;
    assert.equal(all.filter((x) => x.name === 'a' || x.name === name).length, 1);

    assertError(await srv.api('GET', '/t/content?slots=a', undefined, { key: null }), 400, 'invalid_parameter', 'site');
    assertError(await srv.api('GET', '/t/content?site=kzs_000000000000000000000000', undefined, { key: null }), 404, 'not_found', 'site');
    assertError(await srv.api('POST', `/t/content/event?site=${site.site_key}&slot=x&variant=v&type=view`, undefined, { key: null, raw: '' }), 400, 'invalid_parameter', 'slot');
    assertError(await srv.api('POST', `/t/content/event?site=${site.site_key}&slot=1&variant=v&type=hover`, undefined, { key: null, raw: '' }), 400, 'invalid_parameter', 'type');
  });

  test('a_landing_page_slot_block_is_a_data_kz_slot_element_with_its_default', async () => {
    const slug = `lp-slot-${rand()}`;
    expectStatus(await srv.api('POST', '/api/v1/pages', {
      slug, title: 'slot', published: true, site_key: site.site_key,
      blocks: [{ type: 'slot', name: 'lp-hero', html: '<p>いつもの内容</p>' }],
    }), 201);
    const res = await srv.api('GET', `/p/${slug}`, undefined, { key: null });
    assert.ok(res.text.includes('<div class="kzp-slot" data-kz-slot="lp-hero"><p>いつもの内容</p></div>'), res.text);
    assert.ok(res.text.includes(`data-site="${site.site_key}"`), 'kz.js fills it');
    assertError(await srv.api('POST', '/api/v1/pages', { slug: `x-${rand()}`, title: 't', blocks: [{ type: 'slot', name: 'a b' }] }),
      422, 'invalid_field', 'blocks[0]');
  });

  test('an_inactive_slot_is_not_served_and_a_patch_keeps_the_rest', async () => {
    const name = `off-${rand()}`;
    const s = await slot({ name, default: { html: 'on' }, variants: [{ key: 'x', html: 'x', rule: { visitor: 'new' } }] });
    assert.equal((await content({ slots: name })).slots[name].variant, 'x');
    const p = expectStatus(await srv.api('PATCH', `/api/v1/slots/${s.id}`, { active: false }), 200);
    assert.equal(p.variants.length, 1);
    assert.deepEqual((await content({ slots: name })).slots, {});
    expectStatus(await srv.api('DELETE', `/api/v1/slots/${s.id}`), 204);
    assertError(await srv.api('GET', `/api/v1/slots/${s.id}`), 404, 'not_found');
  });
});
