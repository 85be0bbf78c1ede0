/* kzjs.c — the tracking script served at /kz.js, kept readable here (one JS line per C line).
 * Under 6 KB as served (without indentation and comment lines), no dependencies. Page views
 * (and history.pushState navigations) with URL, title, referrer, screen and language; utm_*
 * ride in the URL and are read by the server. A first-party visitor id: the kz_vid cookie
 * (1 year) with a localStorage copy. Events go in batches with fetch keepalive (sendBeacon
 * while the page is hidden or unloading) as text/plain, so the browser sends no CORS
 * preflight. kz('consent', false) stops collection and removes the id; with data-dnt="1" on
 * the tag, Do-Not-Track and GPC are honoured.
 * Content slots (data-kz-slot="name") stay hidden until GET /t/content fills them (at most
 * data-timeout ms, 800 by default: then the default shows); pop-ups load /t/pop.js only when
 * there are some. */
#include "track/kzjs.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/crypto.h"

#include "base/banned.h"

/* One JS line per C line: keep clang-format from re-flowing the script. */
// clang-format off
static const char kzjs[] =
	"/* kz.js — Kizuna tracking: page views (also SPA navigations), kz('track'|'identify'|'page'|'consent'); a tracked email click's kz_ct names the visitor. */\n"
	"(function (w, d) {\n"
	"  if (w.kz && w.kz.v) return;\n"
	"  var s = d.currentScript || d.querySelector('script[data-site]');\n"
	"  if (!s) return;\n"
	"  var nav = navigator, loc = w.location, stub = w.kz, q = [], timer = 0, last = '', ref = d.referrer;\n"
	"  var key = s.getAttribute('data-site'), url = s.src.replace(/\\/kz\\.js([?#].*)?$/, '') + '/t/collect';\n"
	"  var CK = 'kz_vid', CC = 'kz_consent', YEAR = 31536000, ls = null;\n"
	"  try { ls = w.localStorage; ls.getItem(CK); } catch (e) { ls = null; }\n"
	"  function get(k) { try { return ls ? ls.getItem(k) : null; } catch (e) { return null; } }\n"
	"  function put(k, v) { try { if (ls) { if (v == null) ls.removeItem(k); else ls.setItem(k, v); } } catch (e) {} }\n"
	"  var dnt = s.getAttribute('data-dnt') && (nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl);\n"
	"  var on = !dnt && get(CC) !== '0', id = null;\n"
	"  function cookie(v, age) {\n"
	"    d.cookie = CK + '=' + v + ';path=/;max-age=' + age + ';SameSite=Lax' + (loc.protocol == 'https:' ? ';Secure' : '');\n"
	"  }\n"
	"  function rid() {\n"
	"    var c = w.crypto, a = new Uint8Array(16), i;\n"
	"    if (c && c.randomUUID) return c.randomUUID();\n"
	"    if (c && c.getRandomValues) c.getRandomValues(a);\n"
	"    else for (i = 0; i < 16; i++) a[i] = Math.random() * 256 | 0;\n"
	"    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');\n"
	"  }\n"
	"  function visitor() {\n"
	"    var m = d.cookie.match(/(?:^|;\\s*)kz_vid=([^;]+)/), v = (m && m[1]) || get(CK) || rid();\n"
	"    cookie(v, YEAR);\n"
	"    put(CK, v);\n"
	"    return v;\n"
	"  }\n"
	"  if (on) id = visitor();\n"
	"  function ctx() {\n"
	"    var c = { url: loc.href, title: d.title, lang: nav.language, screen: screen.width + 'x' + screen.height };\n"
	"    if (ref) c.referrer = ref;\n"
	"    if (nav.webdriver) c.webdriver = true;\n"
	"    return c;\n"
	"  }\n"
	"  function post(batch, tries) {\n"
	"    var body = JSON.stringify({ site_key: key, sentAt: new Date().toISOString(), batch: batch });\n"
	"    function again() { if (on && tries < 4) setTimeout(function () { post(batch, tries + 1); }, 2000 << tries); }\n"
	"    if (w.fetch) {\n"
	"      fetch(url, { method: 'POST', body: body, keepalive: true, credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })\n"
	"        .then(function (r) { if (r.status >= 500 || r.status == 429) again(); }, again);\n"
	"    } else if (nav.sendBeacon) {\n"
	"      nav.sendBeacon(url, body);\n"
	"    }\n"
	"  }\n"
	"  function flush(unloading) {\n"
	"    clearTimeout(timer);\n"
	"    timer = 0;\n"
	"    while (q.length) {\n"
	"      var b = q.splice(0, 20);\n"
	"      if (!(unloading && nav.sendBeacon && nav.sendBeacon(url, JSON.stringify({ site_key: key, sentAt: new Date().toISOString(), batch: b })))) post(b, 0);\n"
	"    }\n"
	"  }\n"
	"  function push(ev) {\n"
	"    if (!on || !key) return;\n"
	"    ev.anonymousId = id;\n"
	"    ev.messageId = rid();\n"
	"    ev.timestamp = new Date().toISOString();\n"
	"    ev.context = ctx();\n"
	"    q.push(ev);\n"
	"    if (q.length >= 20) flush();\n"
	"    else if (!timer) timer = setTimeout(flush, 300);\n"
	"  }\n"
	"  function page(props) {\n"
	"    last = loc.href;\n"
	"    push({ type: 'page', properties: props || {} });\n"
	"  }\n"
	"  function moved() {\n"
	"    if (loc.href != last) {\n"
	"      ref = last;\n"
	"      page();\n"
	"    }\n"
	"  }\n"
	"  function consent(yes) {\n"
	"    if (yes) {\n"
	"      put(CC, '1');\n"
	"      if (!on && !dnt) { on = true; id = visitor(); }\n"
	"    } else {\n"
	"      on = false;\n"
	"      q = [];\n"
	"      id = null;\n"
	"      cookie('', 0);\n"
	"      put(CK, null);\n"
	"      put(CC, '0');\n"
	"    }\n"
	"  }\n"
	"  function call(cmd, a, b) {\n"
	"    if (cmd == 'consent') consent(a !== false);\n"
	"    else if (cmd == 'page') page(a);\n"
	"    else if (cmd == 'track' && a) push({ type: 'track', event: String(a), properties: b || {} });\n"
	"    else if (cmd == 'identify' && a) { push({ type: 'identify', traits: a }); flush(); }\n"
	"  }\n"
	"  var hp = w.history && history.pushState;\n"
	"  if (hp) {\n"
	"    history.pushState = function () {\n"
	"      var r = hp.apply(this, arguments);\n"
	"      setTimeout(moved, 0);\n"
	"      return r;\n"
	"    };\n"
	"    w.addEventListener('popstate', function () { setTimeout(moved, 0); });\n"
	"  }\n"
	"  d.addEventListener('visibilitychange', function () { if (d.visibilityState == 'hidden') flush(1); });\n"
	"  w.addEventListener('pagehide', function () { flush(1); });\n"
	"  var base = url.slice(0, -10);\n"
	"  function hit(c, type) {\n"
	"    nav.sendBeacon && nav.sendBeacon(base + '/t/content/event?site=' + key + '&slot=' + c.id + '&variant=' + c.variant + '&type=' + type);\n"
	"  }\n"
	"  function personalize() {\n"
	"    var els = d.querySelectorAll('[data-kz-slot]'), names = [], late = 0, st = d.createElement('style'), i;\n"
	"    for (i = 0; i < els.length; i++) names.push(els[i].getAttribute('data-kz-slot'));\n"
	"    st.textContent = '[data-kz-slot]{visibility:hidden}';\n"
	"    if (names.length) d.head.appendChild(st);\n"
	"    var t = setTimeout(function () { late = 1; st.remove(); }, +s.getAttribute('data-timeout') || 800);\n"
	"    fetch(base + '/t/content?site=' + key + '&popups=1&vid=' + (id || '') + '&slots=' + names.join(',') + '&url=' + encodeURIComponent(loc.href), { credentials: 'omit' })\n"
	"      .then(function (r) { return r.ok ? r.json() : {}; })\n"
	"      .then(function (j) {\n"
	"        clearTimeout(t);\n"
	"        for (i = 0; !late && i < els.length; i++) (function (el, c) {\n"
	"          if (!c) return;\n"
	"          el.replaceChildren(d.createRange().createContextualFragment(c.html));\n"
	"          el.addEventListener('click', function (e) { if (e.target.closest('a,button')) hit(c, 'click'); });\n"
	"        })(els[i], (j.slots || {})[names[i]]);\n"
	"        st.remove();\n"
	"        if (j.popups && j.popups[0]) { w.kz.pops = j.popups; w.kz.hit = hit; var p = d.createElement('script'); p.src = base + '/t/pop.js'; d.head.appendChild(p); }\n"
	"      }).finally(function () { st.remove(); });\n"
	"  }\n"
	"  var early = (stub && stub.q) || [], i;\n"
	"  w.kz = function () { call.apply(null, arguments); };\n"
	"  w.kz.v = 1;\n"
	"  for (i = 0; i < early.length; i++) if (early[i][0] == 'consent') call.apply(null, early[i]);\n"
	"  var ct = /[?&]kz_ct=([^&#]*)/.exec(loc.search);\n"
	"  if (ct) {\n"
	"    if (on && id && w.fetch) fetch(url.replace(/collect$/, 'id'), { method: 'POST', keepalive: true, credentials: 'omit', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ site_key: key, ct: decodeURIComponent(ct[1]), anonymousId: id }) });\n"
	"    if (w.history && history.replaceState) history.replaceState(history.state, '', loc.href.replace(/([?&])kz_ct=[^&#]*&?/, '$1').replace(/[?&](#|$)/, '$1'));\n"
	"  }\n"
	"  page();\n"
	"  if (key && w.fetch && s.getAttribute('data-content') != '0') personalize();\n"
	"  for (i = 0; i < early.length; i++) if (early[i][0] != 'consent') call.apply(null, early[i]);\n"
	"})(window, document);\n";
// clang-format on

/* What is served: the script above without its indentation and its one-line comments
 * (kept one statement per line, so no semicolon is ever inferred differently). */
static char served[sizeof kzjs];
static size_t served_len;
static char etag[40];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void prepare(void)
{
	const char *p = kzjs, *end = kzjs + sizeof kzjs - 1;
	char hex[65];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n;
		if (!nl)
			nl = end;
		while (p < nl && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(nl - p);
		if (n >= 4 && !memcmp(p, "/*", 2) && !memcmp(nl - 2, "*/", 2))
			n = 0; /* a comment line */
		memcpy(served + served_len, p, n);
		served_len += n;
		if (n && nl < end)
			served[served_len++] = '\n';
		p = nl + 1;
	}
	kz_sha256_hex(served, served_len, hex);
	snprintf(etag, sizeof etag, "\"%.16s\"", hex);
}

const char *kz_kzjs_source(size_t *len)
{
	pthread_once(&once, prepare);
	*len = served_len;
	return served;
}

const char *kz_kzjs_etag(void)
{
	pthread_once(&once, prepare);
	return etag;
}
