/* popjs.c — the pop-up script served at /t/pop.js (one JS line per C line): kz.js loads it only
 * when /t/content offers pop-ups, so pages without any never pay for it. */
#include "capture/popjs.h"

#include <pthread.h>
#include <stdio.h>

#include "base/crypto.h"

#include "base/banned.h"

// clang-format off
static const char popjs[] =
	"/* pop.js — Kizuna pop-ups: loaded by kz.js when /t/content offers some; shows each on its trigger, at most frequency.max times per visitor every frequency.days days. */\n"
	"(function (w, d) {\n"
	"  var kz = w.kz, pops = (kz && kz.pops) || [];\n"
	"  function rec(p) {\n"
	"    var r;\n"
	"    try { r = JSON.parse(w.localStorage.getItem('kz_pop_' + p.id)) || {}; } catch (e) { r = {}; }\n"
	"    var f = p.popup.frequency;\n"
	"    if (!r.t || (f.days && Date.now() - r.t > f.days * 864e5)) r = { n: 0, t: 0 };\n"
	"    return r;\n"
	"  }\n"
	"  function save(p, r) { try { w.localStorage.setItem('kz_pop_' + p.id, JSON.stringify(r)); } catch (e) {} }\n"
	"  function css() {\n"
	"    if (d.getElementById('kz-pop-css')) return;\n"
	"    var st = d.createElement('style');\n"
	"    st.id = 'kz-pop-css';\n"
	"    st.textContent = '.kz-pop{position:fixed;z-index:2147483000;font:15px/1.6 system-ui,sans-serif;color:var(--kz-pop-text,#1f2430)}' +\n"
	"      '.kz-pop-modal{inset:0;background:rgba(15,20,30,.55);display:flex;align-items:center;justify-content:center;padding:16px}' +\n"
	"      '.kz-pop-box{position:relative;background:var(--kz-pop-bg,#fff);border-radius:12px;box-shadow:0 20px 60px rgba(0,0,0,.3);padding:28px 24px 22px;max-width:min(520px,100%);max-height:90vh;overflow:auto}' +\n"
	"      '.kz-pop-slide_in{right:20px;bottom:20px;max-width:min(380px,calc(100% - 40px))}' +\n"
	"      '.kz-pop-bar{left:0;right:0;top:0}.kz-pop-bar .kz-pop-box{max-width:none;border-radius:0;padding:12px 48px 12px 20px;background:var(--kz-pop-bar,#1d4ed8);color:#fff}' +\n"
	"      '.kz-pop-close{position:absolute;top:8px;right:10px;border:0;background:none;font-size:22px;line-height:1;cursor:pointer;color:inherit;opacity:.7}' +\n"
	"      '.kz-pop-close:hover{opacity:1}';\n"
	"    d.head.appendChild(st);\n"
	"  }\n"
	"  function show(p) {\n"
	"    var r = rec(p), f = p.popup.frequency;\n"
	"    if (r.n >= f.max || d.querySelector('.kz-pop[data-id=\"' + p.id + '\"]')) return;\n"
	"    r.n++;\n"
	"    r.t = r.t || Date.now();\n"
	"    save(p, r);\n"
	"    css();\n"
	"    var o = d.createElement('div'), box = d.createElement('div'), x = d.createElement('button'), body = d.createElement('div');\n"
	"    o.className = 'kz-pop kz-pop-' + p.popup.style;\n"
	"    o.setAttribute('data-id', p.id);\n"
	"    o.setAttribute('role', 'dialog');\n"
	"    if (p.popup.style == 'modal') o.setAttribute('aria-modal', 'true');\n"
	"    box.className = 'kz-pop-box';\n"
	"    x.className = 'kz-pop-close';\n"
	"    x.type = 'button';\n"
	"    x.setAttribute('aria-label', (d.documentElement.lang || '').slice(0, 2) == 'ja' ? '閉じる' : 'Close');\n"
	"    x.textContent = '\\u00d7';\n"
	"    body.className = 'kz-pop-body';\n"
	"    body.appendChild(d.createRange().createContextualFragment(p.html));\n"
	"    box.appendChild(x);\n"
	"    box.appendChild(body);\n"
	"    o.appendChild(box);\n"
	"    function close() { o.remove(); d.removeEventListener('keydown', esc); }\n"
	"    function esc(e) { if (e.key == 'Escape') close(); }\n"
	"    x.addEventListener('click', close);\n"
	"    o.addEventListener('click', function (e) { if (e.target == o) close(); else if (e.target.closest('a,button:not(.kz-pop-close)')) kz.hit(p, 'click'); });\n"
	"    d.addEventListener('keydown', esc);\n"
	"    d.body.appendChild(o);\n"
	"    x.focus();\n"
	"    kz.hit(p, 'view');\n"
	"  }\n"
	"  function arm(p) {\n"
	"    var t = p.popup.trigger, once = 0;\n"
	"    if (rec(p).n >= p.popup.frequency.max) return;\n"
	"    function go() { if (!once) { once = 1; show(p); } }\n"
	"    if (t.type == 'time') setTimeout(go, (t.seconds || 0) * 1000);\n"
	"    else if (t.type == 'scroll') w.addEventListener('scroll', function () {\n"
	"      var h = d.documentElement.scrollHeight - w.innerHeight;\n"
	"      if (h <= 0 || w.scrollY / h * 100 >= t.percent) go();\n"
	"    }, { passive: true });\n"
	"    else if (t.type == 'exit') d.addEventListener('mouseout', function (e) { if (!e.relatedTarget && e.clientY <= 0) go(); });\n"
	"    else go();\n"
	"  }\n"
	"  pops.forEach(arm);\n"
	"})(window, document);\n";
// clang-format on

static char etag[40];
static pthread_once_t etag_once = PTHREAD_ONCE_INIT;

static void make_etag(void)
{
	char hex[65];
	kz_sha256_hex(popjs, sizeof popjs - 1, hex);
	snprintf(etag, sizeof etag, "\"%.16s\"", hex);
}

const char *kz_popjs_source(size_t *len)
{
	*len = sizeof popjs - 1;
	return popjs;
}

const char *kz_popjs_etag(void)
{
	pthread_once(&etag_once, make_etag);
	return etag;
}
