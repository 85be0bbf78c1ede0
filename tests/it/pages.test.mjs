// pages.test.mjs — black-box tests of landing pages: blocks and raw HTML, SEO tags, sitemap.xml, robots.txt, caching.

import assert from 'node:assert/strict';
import { assertError, before, describe, expectStatus, startServer, test } from './harness.mjs';

let srv;
before(async () => {
  srv = await startServer();
});

const rand = () => Math.random().toString(36).slice(2, 8);
const view = (p) => srv.api('GET', p, undefined, { key: null });

describe('landing pages', () => {
  test('blocks_render_escaped_with_seo_tags_kzjs_and_a_form', async () => {
    const site = expectStatus(await srv.api('POST', '/api/v1/sites', { name: `LP ${rand()}` }), 201);
    const form = expectStatus(await srv.api('POST', '/api/v1/forms', {
      name: '資料請求',
      fields: [{ name: 'email', type: 'email', required: true, label: { ja: 'メール' }, maps_to: 'email' }],
    }), 201);
    const slug = `seminar-${rand()}`;
    const page = expectStatus(await srv.api('POST', '/api/v1/pages', {
      slug, title: '無料セミナー <2026>', description: 'MA 入門 "基礎編"', published: true, site_key: site.site_key,
      seo: { og_image: 'https://cdn.example.com/og.png', canonical: 'https://www.example.com/seminar' },
      blocks: [
        { type: 'hero', heading: '<script>alert(1)</script>', text: '一行目\n二行目', label: '申し込む', url: '#form' },
        { type: 'columns', columns: [[{ type: 'text', text: '左' }], [{ type: 'image', src: '/img/a.png', alt: '図 "1"' }]] },
        { type: 'form', form_id: form.id },
        { type: 'html', html: '<div id="own">marketer markup</div>' },
      ],
    }), 201);
    assert.equal(page.slug, slug);
    const res = await view(`/p/${slug}`);
    assert.equal(res.status, 200, res.info);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.ok(res.text.includes('<title>無料セミナー &lt;2026&gt;</title>'));
    assert.ok(res.text.includes('<meta name="description" content="MA 入門 &quot;基礎編&quot;">'));
    assert.ok(res.text.includes('<meta property="og:image" content="https://cdn.example.com/og.png">'));
    assert.ok(res.text.includes('<link rel="canonical" href="https://www.example.com/seminar">'));
    assert.ok(res.text.includes(`data-site="${site.site_key}"`), 'kz.js is included');
    assert.ok(!res.text.includes('<script>alert(1)</script>'));
    assert.ok(res.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(res.text.includes('一行目<br>二行目'));
    assert.ok(res.text.includes('alt="図 &quot;1&quot;"'));
    assert.match(res.text, new RegExp(`<form class="kz-form"[^>]*data-kz-form="${form.id}"`));
    assert.ok(res.text.includes('<div id="own">marketer markup</div>'), 'html blocks are the marketer\'s own');
    assert.doesNotMatch(res.text, /noindex/);
  });

  test('unpublished_and_unknown_pages_are_404_and_changes_show_at_once', async () => {
    const slug = `lp-${rand()}`;
    const p = expectStatus(await srv.api('POST', '/api/v1/pages', { slug, title: '準備中', html: '<h1>v1</h1>' }), 201);
    assert.equal(p.published, false);
    assert.equal((await view(`/p/${slug}`)).status, 404);
    expectStatus(await srv.api('PATCH', `/api/v1/pages/${p.id}`, { published: true }), 200);
    assert.ok((await view(`/p/${slug}`)).text.includes('<h1>v1</h1>'));
    expectStatus(await srv.api('PATCH', `/api/v1/pages/${p.id}`, { html: '<h1>v2</h1>' }), 200);
    assert.ok((await view(`/p/${slug}`)).text.includes('<h1>v2</h1>'), 'a write empties the cache');
    assert.equal((await view('/p/no-such-page')).status, 404);
    assert.equal((await srv.api('DELETE', `/api/v1/pages/${p.id}`)).status, 204);
    assert.equal((await view(`/p/${slug}`)).status, 404);
  });

  test('definitions_are_validated', async () => {
    assertError(await srv.api('POST', '/api/v1/pages', { slug: 'Bad Slug', title: 'x' }), 422, 'invalid_field', 'slug');
    assertError(await srv.api('POST', '/api/v1/pages', { slug: `a-${rand()}`, title: 'x', blocks: [{ type: 'video' }] }), 422, 'invalid_field', 'blocks[0]');
    assertError(await srv.api('POST', '/api/v1/pages', { slug: `a-${rand()}`, title: 'x', blocks: [{ type: 'button', label: 'go', url: 'javascript:alert(1)' }] }), 422, 'invalid_field', 'blocks[0]');
    assertError(await srv.api('POST', '/api/v1/pages', { slug: `a-${rand()}`, title: 'x', blocks: [], html: '<p>' }), 422, 'invalid_field', 'html');
    const slug = `dup-${rand()}`;
    expectStatus(await srv.api('POST', '/api/v1/pages', { slug, title: 'x' }), 201);
    assertError(await srv.api('POST', '/api/v1/pages', { slug, title: 'y' }), 409, 'conflict', 'slug');
  });

  test('sitemap_lists_published_indexable_pages_and_robots_points_to_it', async () => {
    const a = `sm-${rand()}`;
    const b = `sm-${rand()}`;
    const c = `sm-${rand()}`;
    expectStatus(await srv.api('POST', '/api/v1/pages', { slug: a, title: 'A', published: true, blocks: [] }), 201);
    expectStatus(await srv.api('POST', '/api/v1/pages', { slug: b, title: 'B', published: true, seo: { noindex: true }, blocks: [] }), 201);
    expectStatus(await srv.api('POST', '/api/v1/pages', { slug: c, title: 'C', published: false, blocks: [] }), 201);
    const sm = await view('/sitemap.xml');
    assert.equal(sm.status, 200);
    assert.match(sm.headers.get('content-type'), /application\/xml/);
    assert.ok(sm.text.includes(`<loc>${srv.url}/p/${a}</loc>`));
    assert.ok(!sm.text.includes(b) && !sm.text.includes(c));
    const noindex = await view(`/p/${b}`);
    assert.ok(noindex.text.includes('<meta name="robots" content="noindex">'));
    const robots = await view('/robots.txt');
    assert.ok(robots.text.includes(`Sitemap: ${srv.url}/sitemap.xml`));
    assert.ok(robots.text.includes('Disallow: /api/'));
  });
});
