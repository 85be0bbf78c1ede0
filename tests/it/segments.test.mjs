// segments.test.mjs — black-box tests of the audience engine: the filter language, real-time segments, static lists, scoring, stages, the manual clock.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  assertError, BACKEND, before, describe, expectStatus, parseCsv, startServer, test, uniqueEmail, waitFor,
} from './harness.mjs';

const DAY = 86400;
let srv;
before(async () => {
  srv = await startServer({ env: { KIZUNA_CLOCK: 'manual' } });
});

async function contact(body = {}) {
  return expectStatus(await srv.api('POST', '/api/v1/contacts', { email: uniqueEmail('seg'), ...body }), 201);
}

async function track(s, contactId, event, properties = {}) {
  const batch = [{ type: 'track', event, contactId, messageId: randomUUID(), properties }];
  expectStatus(await s.api('POST', '/api/v1/events', { batch }), 200);
}

async function pageView(s, contactId, path) {
  const batch = [{ type: 'page', contactId, messageId: randomUUID(), properties: { url: `https://www.example.com${path}`, path } }];
  expectStatus(await s.api('POST', '/api/v1/events', { batch }), 200);
}

async function segment(s, filter, name = `seg ${randomUUID().slice(0, 8)}`) {
  return expectStatus(await s.api('POST', '/api/v1/segments', { name, filter }), 201);
}

async function memberIds(s, id) {
  const page = expectStatus(await s.api('GET', `/api/v1/segments/${id}/members?limit=500`), 200);
  return page.data.map((c) => c.id).sort((a, b) => a - b);
}

/** The ids among `ids` that match `filter` (preview over everyone, narrowed to the ids). */
async function matching(s, filter, ids) {
  const seg = await segment(s, { all: [filter, { field: 'tags', op: 'contains', value: 'optest' }] });
  const got = await memberIds(s, seg.id);
  expectStatus(await s.api('DELETE', `/api/v1/segments/${seg.id}`), 204);
  return got.filter((x) => ids.includes(x));
}

async function timeline(s, id) {
  const page = expectStatus(await s.api('GET', `/api/v1/contacts/${id}/timeline?limit=200`), 200);
  return page.data;
}

async function advance(s, seconds) {
  return expectStatus(await s.api('POST', '/api/v1/clock', { advance_seconds: seconds }), 200);
}

describe('field operators', () => {
  let a; let b; let c;
  before(async () => {
    await srv.api('POST', '/api/v1/fields', { key: 'employees', label: 'Employees', type: 'number' });
    await srv.api('POST', '/api/v1/fields', { key: 'birthday', label: 'Birthday', type: 'date' });
    await srv.api('POST', '/api/v1/fields', { key: 'title', label: 'Title', type: 'text' });
    a = await contact({ first_name: 'Taro', last_name: 'Yamada', tags: ['optest', 'vip'], fields: { employees: 250, title: '営業部長', birthday: '1990-01-15' } });
    b = await contact({ first_name: 'Hanako', last_name: 'Suzuki', tags: ['optest'], fields: { employees: 40, title: 'Engineer' } });
    c = await contact({ first_name: 'Jiro', tags: ['optest', 'newsletter'] });
  });
  const ids = () => [a.id, b.id, c.id];
  const cases = [
    ['eq', { field: 'first_name', op: 'eq', value: 'taro' }, ['a']],
    ['neq', { field: 'first_name', op: 'neq', value: 'Taro' }, ['b', 'c']],
    ['gt', { field: 'fields.employees', op: 'gt', value: 100 }, ['a']],
    ['gte', { field: 'fields.employees', op: 'gte', value: 40 }, ['a', 'b']],
    ['lt', { field: 'fields.employees', op: 'lt', value: 100 }, ['b']],
    ['lte', { field: 'fields.employees', op: 'lte', value: 250 }, ['a', 'b']],
    ['between', { field: 'fields.employees', op: 'between', value: [30, 100] }, ['b']],
    ['in', { field: 'first_name', op: 'in', value: ['Taro', 'Jiro'] }, ['a', 'c']],
    ['not_in', { field: 'first_name', op: 'not_in', value: ['Taro', 'Jiro'] }, ['b']],
    ['contains', { field: 'fields.title', op: 'contains', value: '部長' }, ['a']],
    ['not_contains', { field: 'tags', op: 'not_contains', value: 'vip' }, ['b', 'c']],
    ['starts_with', { field: 'last_name', op: 'starts_with', value: 'Suz' }, ['b']],
    ['ends_with', { field: 'last_name', op: 'ends_with', value: 'mada' }, ['a']],
    ['exists', { field: 'last_name', op: 'exists' }, ['a', 'b']],
    ['not_exists', { field: 'last_name', op: 'not_exists' }, ['c']],
    ['within_last', { field: 'created_at', op: 'within_last', value: { days: 1 } }, ['a', 'b', 'c']],
    ['not_within_last', { field: 'created_at', op: 'not_within_last', value: { days: 1 } }, []],
    ['anniversary_within', { field: 'fields.birthday', op: 'anniversary_within', value: { days: 366 } }, ['a']],
  ];
  for (const [name, filter, want] of cases) {
    test(`operator_${name}_selects_the_right_contacts`, async () => {
      const map = { a: a.id, b: b.id, c: c.id };
      assert.deepEqual(await matching(srv, filter, ids()), want.map((k) => map[k]).sort((x, y) => x - y));
    });
  }

  test('nested_all_any_not_groups_combine', async () => {
    const filter = { any: [
      { all: [{ field: 'tags', op: 'contains', value: 'vip' }, { not: { field: 'fields.employees', op: 'lt', value: 100 } }] },
      { field: 'first_name', op: 'eq', value: 'Jiro' },
    ] };
    assert.deepEqual(await matching(srv, filter, ids()), [a.id, c.id].sort((x, y) => x - y));
  });

  test('preview_counts_an_unsaved_filter', async () => {
    const r = expectStatus(await srv.api('POST', '/api/v1/segments/preview', {
      filter: { all: [{ field: 'tags', op: 'contains', value: 'optest' }, { field: 'first_name', op: 'eq', value: 'Hanako' }] },
    }), 200);
    assert.ok(r.count >= 1);
    assert.ok(r.members.some((m) => m.id === b.id));
  });
});

describe('validation', () => {
  test('invalid_filter_is_422_with_a_json_pointer', async () => {
    assertError(await srv.api('POST', '/api/v1/segments', { name: 'x', filter: { all: [{ field: 'email', op: 'eq', value: 'a@b.jp' }, { field: 'score', op: 'contains', value: 'x' }] } }),
                422, 'invalid_filter', '/filter/all/1/op');
    assertError(await srv.api('POST', '/api/v1/segments', { name: 'x', filter: { any: [{ field: 'nope', op: 'eq', value: 1 }] } }),
                422, 'invalid_filter', '/filter/any/0/field');
    assertError(await srv.api('POST', '/api/v1/segments', { name: 'x', filter: { event: 'page_view', count: { op: 'gte', value: -1 } } }),
                422, 'invalid_filter', '/filter/count/value');
    assertError(await srv.api('POST', '/api/v1/segments', { name: 'x', filter: { field: 'created_at', op: 'gt', value: 'yesterday' } }),
                422, 'invalid_filter', '/filter/value');
    assertError(await srv.api('POST', '/api/v1/segments/preview', { filter: { not: { segment: 999999 } } }),
                422, 'invalid_filter', '/filter/not/segment');
  });

  test('bad_input_changes_nothing', async () => {
    const before1 = expectStatus(await srv.api('GET', '/api/v1/segments'), 200).data.length;
    await srv.api('POST', '/api/v1/segments', { name: '', filter: { field: 'email', op: 'exists' } });
    await srv.api('POST', '/api/v1/segments', { name: 'ok', filter: { field: 'email', op: 'bogus' } });
    assert.equal(expectStatus(await srv.api('GET', '/api/v1/segments'), 200).data.length, before1);
  });

  test('membership_cycles_are_rejected', async () => {
    const s1 = await segment(srv, { field: 'email', op: 'exists' });
    const s2 = await segment(srv, { segment: s1.id, member: true });
    const res = await srv.api('PATCH', `/api/v1/segments/${s1.id}`, { filter: { segment: s2.id } });
    const e = assertError(res, 422, 'invalid_filter', '/filter/segment');
    assert.match(e.message, /cycle/);
    assertError(await srv.api('DELETE', `/api/v1/segments/${s1.id}`), 409, 'conflict');
  });
});

describe('behaviour, windows and real time', () => {
  test('page_view_count_in_a_window_updates_in_real_time_and_slides', async () => {
    const p = await contact({ tags: ['pricing'] });
    const seg = await segment(srv, { all: [
      { field: 'tags', op: 'contains', value: 'pricing' },
      { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing' }], count: { op: 'gte', value: 3 }, within_days: 30 },
    ] });
    assert.equal(seg.count, 0);
    await pageView(srv, p.id, '/pricing');
    await pageView(srv, p.id, '/about');
    await pageView(srv, p.id, '/pricing');
    assert.deepEqual(await memberIds(srv, seg.id), []);
    await pageView(srv, p.id, '/pricing');
    const t0 = Date.now();
    await waitFor(async () => (await memberIds(srv, seg.id)).includes(p.id), { what: 'entering the segment', interval: 5 });
    assert.ok(Date.now() - t0 < 1000, 'membership follows the event within a second');
    const entered = (await timeline(srv, p.id)).filter((e) => e.name === 'segment_entered' && e.properties.segment_id === seg.id);
    assert.equal(entered.length, 1);
    assert.equal(entered[0].properties.segment_id, seg.id);
    // the contacts list filters by segment
    const listed = expectStatus(await srv.api('GET', `/api/v1/contacts?segment=${seg.id}`), 200);
    assert.deepEqual(listed.data.map((c) => c.id), [p.id]);
    // 31 days later the page views are outside the window
    await advance(srv, 31 * DAY);
    assert.deepEqual(await memberIds(srv, seg.id), []);
    const exited = (await timeline(srv, p.id)).filter((e) => e.name === 'segment_exited' && e.properties.segment_id === seg.id);
    assert.equal(exited.length, 1);
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/contacts?segment=${seg.id}`), 200).data.length, 0);
  });

  test('absence_never_did_an_event', async () => {
    const x = await contact({ tags: ['absence'] });
    const y = await contact({ tags: ['absence'] });
    const seg = await segment(srv, { all: [{ field: 'tags', op: 'contains', value: 'absence' },
      { event: 'email_opened', count: { op: 'eq', value: 0 }, within_days: 90 }] });
    assert.deepEqual(await memberIds(srv, seg.id), [x.id, y.id].sort((a, b) => a - b));
    await track(srv, y.id, 'email_opened', { email_id: 7 });
    await waitFor(async () => (await memberIds(srv, seg.id)).length === 1, { what: 'y leaving' });
    assert.deepEqual(await memberIds(srv, seg.id), [x.id]);
  });

  test('event_property_filters_and_field_changes_update_membership', async () => {
    const x = await contact({ tags: ['buyer-test'] });
    const seg = await segment(srv, { all: [{ field: 'tags', op: 'contains', value: 'buyer-test' },
      { event: 'purchase', where: [{ prop: 'amount', op: 'gte', value: 10000 }] }] });
    await track(srv, x.id, 'purchase', { amount: 500 });
    await srv.api('GET', '/api/v1/segments'); // give the engine a moment
    assert.deepEqual(await memberIds(srv, seg.id), []);
    await track(srv, x.id, 'purchase', { amount: 12000 });
    await waitFor(async () => (await memberIds(srv, seg.id)).includes(x.id), { what: 'buyer entering' });
    // a field change through the API moves the contact out
    expectStatus(await srv.api('PATCH', `/api/v1/contacts/${x.id}`, { tags: [] }), 200);
    await waitFor(async () => !(await memberIds(srv, seg.id)).includes(x.id), { what: 'tag removal leaving' });
  });

  test('membership_of_another_segment', async () => {
    const x = await contact({ tags: ['inner-x'] });
    const inner = await segment(srv, { field: 'tags', op: 'contains', value: 'inner-x' });
    const outer = await segment(srv, { all: [{ segment: inner.id, member: true }, { field: 'email', op: 'exists' }] });
    assert.deepEqual(await memberIds(srv, outer.id), [x.id]);
    expectStatus(await srv.api('PATCH', `/api/v1/contacts/${x.id}`, { tags: ['other'] }), 200);
    await waitFor(async () => (await memberIds(srv, outer.id)).length === 0, { what: 'leaving both' });
  });
});

describe('static lists', () => {
  test('append_replace_remove_and_export', async () => {
    const xs = [await contact(), await contact(), await contact()];
    const list = expectStatus(await srv.api('POST', '/api/v1/segments', { name: 'Seminar 12/1', type: 'static' }), 201);
    assert.equal(list.count, 0);
    assertError(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [xs[0].id] }), 422, 'invalid_field', 'mode');
    assertError(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [xs[0].id, 99999999], mode: 'append' }), 422, 'invalid_field', 'contact_ids');
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/segments/${list.id}/count`), 200).count, 0);
    let r = expectStatus(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [xs[0].id], emails: [xs[1].email], mode: 'append' }), 200);
    assert.deepEqual(r, { changed: 2, count: 2 });
    r = expectStatus(await srv.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [xs[2].id], mode: 'replace' }), 200);
    assert.deepEqual(r, { changed: 3, count: 1 });
    assert.deepEqual(await memberIds(srv, list.id), [xs[2].id]);
    const ex = await srv.api('GET', `/api/v1/segments/${list.id}/export?format=csv`);
    assert.equal(ex.status, 200);
    const rows = parseCsv(ex.text.replace(/^\uFEFF/, ''));
    assert.equal(rows[0][1], 'email');
    assert.equal(rows[1][1], xs[2].email);
    expectStatus(await srv.api('DELETE', `/api/v1/segments/${list.id}/members/${xs[2].id}`), 204);
    assertError(await srv.api('DELETE', `/api/v1/segments/${list.id}/members/${xs[2].id}`), 404, 'not_found');
    const names = (await timeline(srv, xs[0].id)).filter((e) => e.properties.segment_id === list.id).map((e) => e.name);
    assert.deepEqual(names.sort(), ['segment_entered', 'segment_exited']);
    const dyn = await segment(srv, { field: 'email', op: 'exists' });
    assertError(await srv.api('POST', `/api/v1/segments/${dyn.id}/members`, { contact_ids: [xs[0].id], mode: 'append' }), 409, 'conflict');
  });
});

describe('scoring and stages', () => {
  test('behaviour_rule_limits_per_day_and_explains_itself', async () => {
    const x = await contact({ tags: ['score-limit'] });
    const rule = expectStatus(await srv.api('POST', '/api/v1/scoring/rules', {
      name: 'Pricing page', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: '/pricing-limit' }],
      points: 5, limit: { times: 2, per: 'day' }, category: 'engagement',
    }), 201);
    assert.equal(rule.kind, 'behaviour');
    for (let i = 0; i < 3; i++) await pageView(srv, x.id, '/pricing-limit');
    await waitFor(async () => {
      const c = expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200);
      return c.score === 10 && c.scores.engagement === 10;
    }, { what: 'score 10' });
    const hist = expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}/scores`), 200);
    assert.equal(hist.history.length, 2);
    assert.equal(hist.history[0].reason, '+5 visited /pricing-limit (rule: Pricing page)');
    const changed = (await timeline(srv, x.id)).filter((e) => e.name === 'score_changed');
    assert.equal(changed.length, 2);
    // the next day the limit starts again
    await advance(srv, DAY);
    await pageView(srv, x.id, '/pricing-limit');
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).score === 15, { what: 'score 15' });
    expectStatus(await srv.api('DELETE', `/api/v1/scoring/rules/${rule.id}`), 204);
  });

  test('profile_rule_follows_field_changes', async () => {
    await srv.api('POST', '/api/v1/fields', { key: 'jobtitle', label: 'Job title', type: 'text' });
    const x = await contact({ fields: { jobtitle: '営業部長' } });
    const rule = expectStatus(await srv.api('POST', '/api/v1/scoring/rules', {
      name: 'Manager', filter: { field: 'fields.jobtitle', op: 'contains', value: '部長' }, points: 10,
    }), 201);
    assert.equal(rule.category, 'fit');
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).scores.fit, 10);
    expectStatus(await srv.api('PATCH', `/api/v1/contacts/${x.id}`, { fields: { jobtitle: 'Engineer' } }), 200);
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).scores.fit === 0, { what: 'fit 0' });
    expectStatus(await srv.api('DELETE', `/api/v1/scoring/rules/${rule.id}`), 204);
  });

  test('decay_and_stage_rules_move_forward_only', async () => {
    const x = await contact({ tags: ['decay'] });
    const rule = expectStatus(await srv.api('POST', '/api/v1/scoring/rules', {
      name: 'Demo request', event: 'demo_requested', points: 60, category: 'intent',
    }), 201);
    expectStatus(await srv.api('PUT', '/api/v1/scoring/settings', { decay: { percent: 50, days: 30 }, thresholds: [50] }), 200);
    expectStatus(await srv.api('PUT', '/api/v1/stages', {
      stages: ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'repeater'],
      rules: [{ to: 'mql', when: { field: 'score', op: 'gte', value: 50 } },
        { to: 'customer', when: { event: 'order_paid', count: { op: 'gte', value: 1 } } },
        { to: 'repeater', when: { event: 'order_paid', count: { op: 'gte', value: 2 } } }],
    }), 200);
    await track(srv, x.id, 'demo_requested');
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).stage === 'mql', { what: 'mql' });
    let tl = (await timeline(srv, x.id)).map((e) => e.name);
    assert.ok(tl.includes('score_threshold_crossed'));
    assert.ok(tl.includes('stage_changed'));
    await advance(srv, 31 * DAY);
    let c = expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200);
    assert.equal(c.scores.intent, 30);
    assert.equal(c.stage, 'mql', 'a rule never moves a contact back');
    await track(srv, x.id, 'order_paid');
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).stage === 'customer', { what: 'customer' });
    await track(srv, x.id, 'order_paid');
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).stage === 'repeater', { what: 'repeater' });
    // by hand a contact may go back; the rules do not push it forward again at once
    expectStatus(await srv.api('PUT', `/api/v1/contacts/${x.id}/stage`, { stage: 'sql' }), 200);
    c = expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200);
    assert.equal(c.stage, 'sql');
    assertError(await srv.api('PUT', `/api/v1/contacts/${x.id}/stage`, { stage: 'nope' }), 422, 'invalid_field', 'stage');
    const hist = expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}/stages`), 200).data;
    assert.deepEqual(hist.map((h) => h.stage), ['mql', 'customer', 'repeater', 'sql']);
    assert.equal(hist[3].reason, 'manual');
    tl = (await timeline(srv, x.id)).filter((e) => e.name === 'score_changed').map((e) => e.properties.reason);
    assert.ok(tl.some((r) => r.startsWith('-30 decay')), JSON.stringify(tl));
    // recompute rebuilds from the events (no decay until the next tick)
    const rc = expectStatus(await srv.api('POST', '/api/v1/scoring/recompute'), 200);
    assert.equal(rc.status, 'done');
    assert.equal(expectStatus(await srv.api('GET', `/api/v1/contacts/${x.id}`), 200).scores.intent, 60);
    expectStatus(await srv.api('PUT', '/api/v1/scoring/settings', { decay: null, thresholds: [] }), 200);
    expectStatus(await srv.api('DELETE', `/api/v1/scoring/rules/${rule.id}`), 204);
    assertError(await srv.api('PUT', '/api/v1/stages', { stages: ['a', 'a'] }), 422, 'invalid_field', '/stages/1');
  });
});

describe('the clock', () => {
  test('clock_route_is_404_without_manual_mode', async () => {
    const plain = await startServer();
    assertError(await plain.api('POST', '/api/v1/clock', { advance_seconds: 1 }), 404, 'not_found');
  });

  test('memberships_survive_a_restart', async () => {
    const s = await startServer({ env: { KIZUNA_CLOCK: 'manual' } });
    const x = expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('rs'), tags: ['restart'] }), 201);
    const seg = expectStatus(await s.api('POST', '/api/v1/segments', { name: 'r', filter: { field: 'tags', op: 'contains', value: 'restart' } }), 201);
    assert.equal(seg.count, 1);
    await s.restart();
    assert.equal(expectStatus(await s.api('GET', `/api/v1/segments/${seg.id}/count`), 200).count, 1);
    const entered = expectStatus(await s.api('GET', `/api/v1/contacts/${x.id}/timeline`), 200).data.filter((e) => e.name === 'segment_entered');
    assert.equal(entered.length, 1, 'no second entered event after a restart');
  });
});

describe('changes that reach the index from elsewhere', () => {
  test('company_changes_update_company_field_segments', async () => {
    const co = expectStatus(await srv.api('POST', '/api/v1/companies', { name: `Big ${randomUUID().slice(0, 6)}`, fields: { employees: 40 } }), 201);
    const x = await contact({ company: { name: co.name } });
    assert.equal(x.company.id, co.id);
    const seg = await segment(srv, { all: [{ field: 'company.employees', op: 'gte', value: 100 }, { field: 'company_id', op: 'eq', value: co.id }] });
    assert.equal(seg.count, 0);
    expectStatus(await srv.api('PATCH', `/api/v1/companies/${co.id}`, { fields: { employees: 250 } }), 200);
    await waitFor(async () => (await memberIds(srv, seg.id)).includes(x.id), { what: 'entering on a company change', interval: 5 });
    const byName = await segment(srv, { all: [{ field: 'company.name', op: 'eq', value: co.name }] });
    assert.deepEqual(await memberIds(srv, byName.id), [x.id]);
    // the company goes: its people leave
    expectStatus(await srv.api('DELETE', `/api/v1/companies/${co.id}`), 204);
    await waitFor(async () => (await memberIds(srv, seg.id)).length === 0 && (await memberIds(srv, byName.id)).length === 0, { what: 'leaving when the company is deleted' });
  });

  test('merge_sums_scores_and_keeps_score_and_stage_history', async () => {
    const path = `/pricing-merge-${randomUUID().slice(0, 6)}`;
    const rule = expectStatus(await srv.api('POST', '/api/v1/scoring/rules', {
      name: 'Merge page', event: 'page_view', where: [{ prop: 'path', op: 'eq', value: path }], points: 4, category: 'merge_test',
    }), 201);
    const a = await contact();
    const b = await contact();
    await pageView(srv, a.id, path);
    await pageView(srv, b.id, path);
    await pageView(srv, b.id, path);
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${b.id}`), 200).scores.merge_test === 8, { what: 'b scored' });
    await waitFor(async () => expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}`), 200).scores.merge_test === 4, { what: 'a scored' });
    expectStatus(await srv.api('PUT', `/api/v1/contacts/${b.id}/stage`, { stage: 'sql' }), 200);
    const seg = await segment(srv, { all: [
      { field: 'score.merge_test', op: 'gte', value: 12 },
      { event: 'page_view', where: [{ prop: 'path', op: 'eq', value: path }], count: { op: 'gte', value: 3 } },
    ] });
    assert.equal(seg.count, 0);
    const merged = expectStatus(await srv.api('POST', '/api/v1/contacts/merge', { into: a.id, from: b.id }), 200);
    assert.equal(merged.id, a.id);
    await waitFor(async () => {
      const c = expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}`), 200);
      return c.scores.merge_test === 12 && c.stage === 'sql';
    }, { what: 'the survivor has both scores and the stage' });
    const hist = expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}/scores`), 200).history.filter((h) => h.rule_id === rule.id);
    assert.equal(hist.length, 3, 'the merged-away contact\'s score log moved too');
    const stages = expectStatus(await srv.api('GET', `/api/v1/contacts/${a.id}/stages`), 200).data;
    assert.ok(stages.some((s) => s.stage === 'sql' && s.reason === 'manual'), JSON.stringify(stages));
    // the index follows: both the moved events and the summed score count for segments
    await waitFor(async () => (await memberIds(srv, seg.id)).includes(a.id), { what: 'the merged contact enters' });
    expectStatus(await srv.api('DELETE', `/api/v1/scoring/rules/${rule.id}`), 204);
  });

  test('events_replayed_from_the_log_after_kill9_reach_the_index', async () => {
    // Events acknowledged just before a crash are applied from the event log at the next
    // start; the index listens before the writer starts, so none is missed.
    const s = await startServer();
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(expectStatus(await s.api('POST', '/api/v1/contacts', { email: uniqueEmail('replay') }), 201).id);
    const seg = expectStatus(await s.api('POST', '/api/v1/segments', { name: 'replayed', filter: { event: 'replay_probe', count: { op: 'gte', value: 25 } } }), 201);
    const batch = [];
    for (const id of ids) for (let k = 0; k < 25; k++) batch.push({ type: 'track', event: 'replay_probe', contactId: id, messageId: randomUUID(), properties: { k } });
    for (let i = 0; i < batch.length; i += 100) expectStatus(await s.api('POST', '/api/v1/events', { batch: batch.slice(i, i + 100) }), 200);
    await s.kill9();
    await s.start();
    await waitFor(async () => expectStatus(await s.api('GET', `/api/v1/segments/${seg.id}/count`), 200).count === ids.length, { what: 'every contact in the segment after the restart' });
    assert.equal(expectStatus(await s.api('GET', '/api/v1/events/count?event=replay_probe'), 200).count, batch.length);
  });
});

describe('several nodes on one PostgreSQL', () => {
  // Each node writes a change-feed row in the transaction of every change it takes in; the
  // others read the feed (every 200 ms) and refresh their own index from the store. Only the
  // node that took a change in records its side effects (membership rows, scores, events).
  const skip = BACKEND !== 'postgres' && 'PostgreSQL only';
  let a; let b;
  before(async () => {
    if (skip) return;
    a = await startServer({ env: { KIZUNA_CLOCK: 'manual' } });
    b = await startServer({ dbUrl: a.dbUrl, init: false, apiKey: a.apiKey, env: { KIZUNA_CLOCK: 'manual' } });
  });

  async function countOn(s, segId) {
    const r = await s.api('GET', `/api/v1/segments/${segId}/count`);
    return r.status === 200 ? r.json.count : -1;
  }

  async function eventCount(s, event, contactId) {
    return expectStatus(await s.api('GET', `/api/v1/events/count?event=${event}&contact_id=${contactId}`), 200).count;
  }

  test('a_second_node_sees_membership_changes_made_by_the_first', { skip }, async () => {
    const seg = expectStatus(await a.api('POST', '/api/v1/segments', { name: 'two nodes', filter: { field: 'tags', op: 'contains', value: 'two-nodes' } }), 201);
    const x = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('node'), tags: ['two-nodes'] }), 201);
    await waitFor(async () => (await memberIds(a, seg.id)).includes(x.id), { what: 'node A' });
    await waitFor(async () => (await countOn(b, seg.id)) === 1, { what: 'node B sees the member', timeout: 5000 });
  });

  test('an_event_taken_in_by_one_node_makes_a_member_on_the_other', { skip }, async () => {
    const probe = `probe_${randomUUID().slice(0, 8)}`;
    const seg = await segment(a, { event: probe, count: { op: 'gte', value: 2 } });
    const x = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('ev') }), 201);
    const y = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('ev') }), 201);
    await waitFor(async () => (await countOn(b, seg.id)) === 0, { what: 'node B knows the segment' });
    await track(a, x.id, probe);
    await track(a, x.id, probe);
    await track(a, y.id, probe); // one is not enough
    await waitFor(async () => (await countOn(b, seg.id)) === 1, { what: 'node B counts the member' });
    assert.deepEqual(await memberIds(b, seg.id), [x.id]);
    assert.deepEqual(await memberIds(a, seg.id), [x.id]);
    // the second event of y arrives through B this time: A follows
    await track(b, y.id, probe);
    await waitFor(async () => (await countOn(a, seg.id)) === 2, { what: 'node A counts the event taken in by B' });
    assert.deepEqual(await memberIds(a, seg.id), [x.id, y.id].sort((m, n) => m - n));
  });

  test('a_segment_created_on_one_node_is_counted_on_the_other', { skip }, async () => {
    const tag = `made-on-a-${randomUUID().slice(0, 8)}`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push(expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('cfg'), tags: [tag] }), 201));
    const ids = made.map((c) => c.id);
    const seg = await segment(a, { field: 'tags', op: 'contains', value: tag }, `made on A ${tag}`);
    await waitFor(async () => (await countOn(b, seg.id)) === 3, { what: 'node B counts the new segment' });
    assert.equal(expectStatus(await b.api('GET', `/api/v1/segments/${seg.id}`), 200).name, `made on A ${tag}`);
    assert.deepEqual(await memberIds(b, seg.id), ids.sort((m, n) => m - n));
    // an edit of the definition follows too
    expectStatus(await a.api('PATCH', `/api/v1/segments/${seg.id}`, { filter: { all: [{ field: 'tags', op: 'contains', value: tag }, { field: 'email', op: 'eq', value: made[0].email }] } }), 200);
    await waitFor(async () => (await countOn(b, seg.id)) === 1, { what: 'node B follows the edited filter' });
  });

  test('entering_a_segment_records_one_segment_entered_with_both_nodes_running', { skip }, async () => {
    const probe = `once_${randomUUID().slice(0, 8)}`;
    const seg = await segment(a, { event: probe, count: { op: 'gte', value: 1 }, within_days: 1 });
    const x = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('once') }), 201);
    await waitFor(async () => (await countOn(b, seg.id)) === 0, { what: 'node B knows the segment' });
    await track(a, x.id, probe);
    await waitFor(async () => (await countOn(b, seg.id)) === 1, { what: 'node B sees the member' });
    // B evaluates the contact itself too (a change B takes in) and finds it a member already
    expectStatus(await b.api('PATCH', `/api/v1/contacts/${x.id}`, { first_name: 'Both' }), 200);
    // Both clocks move past the window at once: each node re-evaluates every segment and both
    // see the contact leave; the store lets one of them record it. A clock move answers once
    // its node's engine has done everything queued before it, so the counts below are final.
    await Promise.all([advance(a, 2 * DAY), advance(b, 2 * DAY)]);
    assert.equal(await countOn(a, seg.id), 0);
    assert.equal(await countOn(b, seg.id), 0);
    assert.equal(await eventCount(a, 'segment_entered', x.id), 1);
    assert.equal(await eventCount(a, 'segment_exited', x.id), 1);
  });

  test('scores_are_awarded_once_by_the_node_that_took_the_change_in', { skip }, async () => {
    const probe = `score_${randomUUID().slice(0, 8)}`;
    const behaviour = expectStatus(await a.api('POST', '/api/v1/scoring/rules', { name: 'Two nodes', event: probe, points: 7, category: 'two_nodes' }), 201);
    const profile = expectStatus(await a.api('POST', '/api/v1/scoring/rules', { name: 'Two nodes fit', filter: { field: 'tags', op: 'contains', value: probe }, points: 3, category: 'two_nodes_fit' }), 201);
    const x = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('sc'), tags: [probe] }), 201);
    await track(a, x.id, probe);
    await waitFor(async () => {
      const c = expectStatus(await b.api('GET', `/api/v1/contacts/${x.id}`), 200);
      return c.scores.two_nodes === 7 && c.scores.two_nodes_fit === 3;
    }, { what: 'node B shows the scores node A awarded' });
    await Promise.all([advance(a, 0), advance(b, 0)]); // both engines have done their queues
    for (const s of [a, b]) {
      const c = expectStatus(await s.api('GET', `/api/v1/contacts/${x.id}`), 200);
      assert.deepEqual([c.scores.two_nodes, c.scores.two_nodes_fit], [7, 3]);
    }
    const hist = expectStatus(await b.api('GET', `/api/v1/contacts/${x.id}/scores`), 200).history;
    assert.deepEqual(hist.map((h) => h.rule_id).sort((m, n) => m - n), [behaviour.id, profile.id].sort((m, n) => m - n));
    expectStatus(await a.api('DELETE', `/api/v1/scoring/rules/${behaviour.id}`), 204);
    expectStatus(await a.api('DELETE', `/api/v1/scoring/rules/${profile.id}`), 204);
  });

  test('a_static_list_changed_on_one_node_is_the_same_on_the_other', { skip }, async () => {
    const list = expectStatus(await a.api('POST', '/api/v1/segments', { name: `list ${randomUUID().slice(0, 8)}`, type: 'static' }), 201);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('ls') }), 201).id);
    ids.sort((m, n) => m - n);
    expectStatus(await a.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: ids, mode: 'append' }), 200);
    await waitFor(async () => (await countOn(b, list.id)) === 3, { what: 'node B counts the list' });
    assert.deepEqual(await memberIds(b, list.id), ids);
    expectStatus(await b.api('POST', `/api/v1/segments/${list.id}/members`, { contact_ids: [ids[1]], mode: 'replace' }), 200);
    await waitFor(async () => (await countOn(a, list.id)) === 1, { what: 'node A follows the list B replaced' });
    assert.deepEqual(await memberIds(a, list.id), [ids[1]]);
  });

  test('a_field_or_tag_change_on_the_second_node_moves_membership_on_the_first', { skip }, async () => {
    const tag = `from-b-${randomUUID().slice(0, 8)}`;
    await a.api('POST', '/api/v1/fields', { key: 'plan', label: 'Plan', type: 'text' });
    const seg = await segment(a, { all: [{ field: 'tags', op: 'contains', value: tag }, { field: 'fields.plan', op: 'eq', value: 'pro' }] });
    const x = expectStatus(await a.api('POST', '/api/v1/contacts', { email: uniqueEmail('fb'), tags: [tag] }), 201);
    await waitFor(async () => (await countOn(b, seg.id)) === 0, { what: 'node B knows the segment' });
    expectStatus(await b.api('PATCH', `/api/v1/contacts/${x.id}`, { fields: { plan: 'pro' } }), 200);
    await waitFor(async () => (await memberIds(a, seg.id)).includes(x.id), { what: 'node A: the field change makes a member' });
    expectStatus(await b.api('PATCH', `/api/v1/contacts/${x.id}`, { tags: [] }), 200);
    await waitFor(async () => !(await memberIds(a, seg.id)).includes(x.id), { what: 'node A: the tag change ends it' });
    // B took both changes in and recorded them; A only followed
    await Promise.all([advance(a, 0), advance(b, 0)]); // both engines have done their queues
    assert.equal(await eventCount(a, 'segment_entered', x.id), 1);
    assert.equal(await eventCount(a, 'segment_exited', x.id), 1);
  });
});
