/* render.c — visitor-facing HTML of forms. Every text that comes from a form definition or a
 * visitor is escaped here; nothing is trusted to be markup. */
#include "capture/render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "capture/form.h"

#include "base/banned.h"

void kz_html_escape(kz_buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': kz_buf_adds(b, "&amp;"); break;
		case '<': kz_buf_adds(b, "&lt;"); break;
		case '>': kz_buf_adds(b, "&gt;"); break;
		case '"': kz_buf_adds(b, "&quot;"); break;
		case '\'': kz_buf_adds(b, "&#39;"); break;
		default: kz_buf_addc(b, *s);
		}
	}
}

static const char css[] =
	".kz-form{--kz-accent:#1d4ed8;--kz-text:#1f2937;--kz-muted:#6b7280;--kz-error:#b91c1c;"
	"--kz-border:#d1d5db;--kz-radius:6px;--kz-font:inherit;--kz-gap:14px;"
	"font-family:var(--kz-font);color:var(--kz-text);max-width:36rem;position:relative}"
	".kz-form .kz-field{margin:0 0 var(--kz-gap)}"
	".kz-form label{display:block;font-weight:600;margin-bottom:4px}"
	".kz-form input:not([type=checkbox]):not([type=radio]),.kz-form select,.kz-form textarea{"
	"width:100%;box-sizing:border-box;padding:8px 10px;border:1px solid var(--kz-border);"
	"border-radius:var(--kz-radius);font:inherit}"
	".kz-form .kz-choice{display:flex;gap:6px;align-items:flex-start;font-weight:400}"
	".kz-form .kz-help{color:var(--kz-muted);font-size:.875em;margin:4px 0 0}"
	".kz-form .kz-error{color:var(--kz-error);font-size:.875em;margin:4px 0 0}"
	".kz-form .kz-error:empty{display:none}"
	".kz-form .kz-invalid input,.kz-form .kz-invalid select,.kz-form .kz-invalid textarea{"
	"border-color:var(--kz-error)}"
	".kz-form .kz-req{color:var(--kz-error)}"
	".kz-form .kz-submit{background:var(--kz-accent);color:#fff;border:0;"
	"border-radius:var(--kz-radius);padding:10px 20px;font:inherit;cursor:pointer}"
	".kz-hp{position:absolute!important;left:-10000px!important;width:1px;height:1px;"
	"overflow:hidden}"
	".kz-thanks{padding:16px;border-radius:var(--kz-radius,6px);background:#f0fdf4}";

const char *kz_render_form_css(void)
{
	return css;
}

static const char *error_for(const json_t *errors, const char *name)
{
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		const char *f = json_string_value(json_object_get(e, "field"));
		if (f && !strcmp(f, name))
			return json_string_value(json_object_get(e, "message"));
	}
	return NULL;
}

/* 1 when the visitor sent `opt` for name (a checkbox ticked, an option chosen). */
static int was_sent(const json_t *values, const char *name, const char *opt)
{
	const json_t *v = json_object_get(values, name), *e;
	size_t i;
	if (json_is_string(v))
		return !strcmp(json_string_value(v), opt);
	json_array_foreach(v, i, e) {
		if (!strcmp(json_string_value(e), opt))
			return 1;
	}
	return 0;
}

static void attr(kz_buf *b, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	kz_buf_addf(b, " %s=\"", name);
	kz_html_escape(b, value);
	kz_buf_addc(b, '"');
}

static void input_id(kz_buf *b, const kz_form_view *v, const char *name, const char *suffix)
{
	kz_buf_addf(b, "kzf%" PRId64 "-",
		    (int64_t)json_integer_value(json_object_get(v->form, "id")));
	kz_html_escape(b, name);
	kz_buf_adds(b, suffix);
}

static void choices(kz_buf *b, const kz_form_view *v, const json_t *f, const char *name,
		    const char *type)
{
	size_t i;
	json_t *o;
	const char *input = !strcmp(type, "radio") ? "radio" : "checkbox";
	json_array_foreach(json_object_get(f, "options"), i, o) {
		const char *val = json_string_value(json_object_get(o, "value"));
		const char *label = kz_form_text(json_object_get(o, "label"), v->lang);
		kz_buf_addf(b, "<label class=\"kz-choice\"><input type=\"%s\"", input);
		attr(b, "name", name);
		attr(b, "value", val);
		if (was_sent(v->values, name, val))
			kz_buf_adds(b, " checked");
		kz_buf_adds(b, "><span>");
		kz_html_escape(b, *label ? label : val);
		kz_buf_adds(b, "</span></label>");
	}
}

static void select_box(kz_buf *b, const kz_form_view *v, const json_t *f, const char *name)
{
	size_t i;
	json_t *o;
	const char *ph = kz_form_text(json_object_get(f, "placeholder"), v->lang);
	kz_buf_adds(b, "<select");
	attr(b, "name", name);
	kz_buf_adds(b, " id=\"");
	input_id(b, v, name, "\"");
	kz_buf_adds(b, "><option value=\"\">");
	kz_html_escape(b, *ph ? ph : (strcmp(v->lang, "ja") ? "Choose…" : "選択してください"));
	kz_buf_adds(b, "</option>");
	json_array_foreach(json_object_get(f, "options"), i, o) {
		const char *val = json_string_value(json_object_get(o, "value"));
		const char *label = kz_form_text(json_object_get(o, "label"), v->lang);
		kz_buf_adds(b, "<option");
		attr(b, "value", val);
		if (was_sent(v->values, name, val))
			kz_buf_adds(b, " selected");
		kz_buf_addc(b, '>');
		kz_html_escape(b, *label ? label : val);
		kz_buf_adds(b, "</option>");
	}
	kz_buf_adds(b, "</select>");
}

static const char *input_type(const char *type)
{
	if (!strcmp(type, "email") || !strcmp(type, "tel") || !strcmp(type, "number") ||
	    !strcmp(type, "date"))
		return type;
	return "text";
}

static void field_control(kz_buf *b, const kz_form_view *v, const json_t *f, const char *name,
			  const char *type, const char *err)
{
	const char *sent = json_string_value(json_object_get(v->values, name));
	const char *ph = kz_form_text(json_object_get(f, "placeholder"), v->lang);
	if (!strcmp(type, "select"))
		return select_box(b, v, f, name);
	if (!strcmp(type, "textarea")) {
		kz_buf_adds(b, "<textarea rows=\"5\"");
	} else {
		kz_buf_addf(b, "<input type=\"%s\"", input_type(type));
		attr(b, "value", sent);
	}
	attr(b, "name", name);
	attr(b, "placeholder", ph);
	kz_buf_adds(b, " id=\"");
	input_id(b, v, name, "\"");
	if (json_is_true(json_object_get(f, "required")))
		kz_buf_adds(b, " aria-required=\"true\"");
	if (err)
		kz_buf_adds(b, " aria-invalid=\"true\"");
	kz_buf_adds(b, " aria-describedby=\"");
	input_id(b, v, name, "-help ");
	input_id(b, v, name, "-err\"");
	if (!strcmp(type, "email"))
		kz_buf_adds(b, " autocomplete=\"email\"");
	if (!strcmp(type, "textarea")) {
		kz_buf_addc(b, '>');
		kz_html_escape(b, sent);
		kz_buf_adds(b, "</textarea>");
	} else {
		kz_buf_addc(b, '>');
	}
}

static void one_field(kz_buf *b, const kz_form_view *v, const json_t *f)
{
	const char *name = json_string_value(json_object_get(f, "name"));
	const char *type = json_string_value(json_object_get(f, "type"));
	const char *err = error_for(v->errors, name);
	const char *label = kz_form_text(json_object_get(f, "label"), v->lang);
	const char *help = kz_form_text(json_object_get(f, "help"), v->lang);
	int req = json_is_true(json_object_get(f, "required"));
	int single_box = !strcmp(type, "checkbox") || !strcmp(type, "consent");
	int group = !strcmp(type, "radio") || !strcmp(type, "checkboxes");
	if (!strcmp(type, "hidden")) {
		const char *sent = json_string_value(json_object_get(v->values, name));
		kz_buf_adds(b, "<input type=\"hidden\"");
		attr(b, "name", name);
		attr(b, "value", sent ? sent : json_string_value(json_object_get(f, "value")));
		kz_buf_adds(b, ">");
		return;
	}
	kz_buf_addf(b, "<div class=\"kz-field kz-field-%s%s\" data-kz-field=\"", type,
		    err ? " kz-invalid" : "");
	kz_html_escape(b, name);
	kz_buf_adds(b, group ? "\" role=\"group\" aria-labelledby=\"" : "\">");
	if (group) {
		input_id(b, v, name, "-label\">");
		kz_buf_adds(b, "<span class=\"kz-label\" id=\"");
		input_id(b, v, name, "-label\">");
	} else if (single_box) {
		kz_buf_adds(b, "<label class=\"kz-choice\"><input type=\"checkbox\" value=\"on\"");
		attr(b, "name", name);
		kz_buf_adds(b, " id=\"");
		input_id(b, v, name, "\"");
		if (was_sent(v->values, name, "on") || was_sent(v->values, name, "1") ||
		    was_sent(v->values, name, "true"))
			kz_buf_adds(b, " checked");
		if (err)
			kz_buf_adds(b, " aria-invalid=\"true\"");
		kz_buf_adds(b, "><span>");
		label = !strcmp(type, "consent") ? kz_form_text(json_object_get(f, "text"), v->lang)
						 : label;
	} else {
		kz_buf_adds(b, "<label for=\"");
		input_id(b, v, name, "\">");
	}
	kz_html_escape(b, label);
	if (req)
		kz_buf_adds(b, " <span class=\"kz-req\" aria-hidden=\"true\">*</span>");
	kz_buf_adds(b, group ? "</span>" : single_box ? "</span></label>" : "</label>");
	if (group)
		choices(b, v, f, name, type);
	else if (!single_box)
		field_control(b, v, f, name, type, err);
	kz_buf_adds(b, "<p class=\"kz-help\" id=\"");
	input_id(b, v, name, "-help\">");
	kz_html_escape(b, help);
	kz_buf_adds(b, "</p><p class=\"kz-error\" role=\"alert\" id=\"");
	input_id(b, v, name, "-err\">");
	kz_html_escape(b, err);
	kz_buf_adds(b, "</p></div>");
}

void kz_render_form(kz_buf *b, const kz_form_view *v)
{
	const json_t *settings = json_object_get(v->form, "settings"), *f;
	const char *submit = kz_form_text(json_object_get(settings, "submit_label"), v->lang);
	size_t i;
	kz_buf_addf(b, "<form class=\"kz-form\" method=\"post\" accept-charset=\"UTF-8\" novalidate "
		       "data-kz-form=\"%" PRId64 "\"",
		    (int64_t)json_integer_value(json_object_get(v->form, "id")));
	attr(b, "action", v->action);
	attr(b, "lang", v->lang);
	kz_buf_adds(b, ">");
	kz_buf_adds(b, "<input type=\"hidden\" name=\"_kz_t\"");
	attr(b, "value", v->token);
	kz_buf_addf(b, "><input type=\"hidden\" name=\"_kz_lang\" value=\"%s\">", v->lang);
	if (v->anon_id) {
		kz_buf_adds(b, "<input type=\"hidden\" name=\"_kz_vid\"");
		attr(b, "value", v->anon_id);
		kz_buf_adds(b, ">");
	}
	/* The honeypot: people never see it, form-filling bots do. */
	kz_buf_adds(b, "<div class=\"kz-hp\" aria-hidden=\"true\"><label>Website "
		       "<input type=\"text\" name=\"_kz_url\" tabindex=\"-1\" "
		       "autocomplete=\"off\"></label></div>");
	json_array_foreach(v->fields, i, f)
		one_field(b, v, f);
	kz_buf_adds(b, "<button type=\"submit\" class=\"kz-submit\">");
	kz_html_escape(b, *submit ? submit : (strcmp(v->lang, "ja") ? "Submit" : "送信する"));
	kz_buf_adds(b, "</button></form>");
}

void kz_render_page(kz_buf *b, const char *lang, const char *title, const char *body_html)
{
	kz_buf_addf(b, "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		       "<title>",
		    lang);
	kz_html_escape(b, title);
	kz_buf_addf(b, "</title><style>body{font-family:system-ui,sans-serif;margin:0;"
		       "padding:32px 16px;display:flex;justify-content:center}main{width:100%%;"
		       "max-width:36rem}%s</style></head><body><main><h1>",
		    css);
	kz_html_escape(b, title);
	kz_buf_adds(b, "</h1>");
	kz_buf_adds(b, body_html);
	kz_buf_adds(b, "</main></body></html>");
}

void kz_render_thanks(kz_buf *b, const char *message, const char *download_url, const char *lang)
{
	kz_buf_adds(b, "<div class=\"kz-thanks\" role=\"status\"><p>");
	kz_html_escape(b, message);
	kz_buf_adds(b, "</p>");
	if (download_url) {
		kz_buf_adds(b, "<p><a class=\"kz-download\"");
		attr(b, "href", download_url);
		kz_buf_adds(b, ">");
		kz_buf_adds(b, strcmp(lang, "ja") ? "Download" : "資料をダウンロード");
		kz_buf_adds(b, "</a></p>");
	}
	kz_buf_adds(b, "</div>");
}

/* A JSON string literal that is also safe inside <script> (no "</"). */
static void js_string(kz_buf *b, const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *t = json_dumps(j, JSON_ENCODE_ANY);
	for (const char *p = t; p && *p; p++) {
		if (*p == '<')
			kz_buf_adds(b, "\\u003c");
		else
			kz_buf_addc(b, *p);
	}
	free(t);
	json_decref(j);
}

void kz_render_embed_js(kz_buf *b, int64_t form_id, const char *base_url)
{
	kz_buf_adds(b, "/* Kizuna form embed: renders the form after this script tag (or into "
		       "data-target) and posts it without leaving the page. */\n(function () {\n"
		       "  var BASE = ");
	js_string(b, base_url);
	kz_buf_addf(b, ", ID = %" PRId64 ";\n", form_id);
	kz_buf_adds(
		b,
		"  var d = document, w = window, me = d.currentScript;\n"
		"  var sel = me && me.getAttribute('data-target');\n"
		"  var host = sel ? d.querySelector(sel) : null;\n"
		"  if (!host) { host = d.createElement('div'); me.parentNode.insertBefore(host, me.nextSibling); }\n"
		"  host.className += ' kz-form-host';\n"
		"  var lang = (me && me.getAttribute('data-lang')) || (d.documentElement.lang || navigator.language || 'ja').slice(0, 2);\n"
		"  function vid() {\n"
		"    var m = d.cookie.match(/(?:^|;\\s*)kz_vid=([^;]+)/);\n"
		"    if (m) return decodeURIComponent(m[1]);\n"
		"    try { return w.localStorage.getItem('kz_vid') || ''; } catch (e) { return ''; }\n"
		"  }\n"
		"  function hidden(form, name, value) {\n"
		"    var el = form.querySelector('input[type=hidden][name=\"' + name + '\"]');\n"
		"    if (!el) { el = d.createElement('input'); el.type = 'hidden'; el.name = name; form.appendChild(el); }\n"
		"    el.value = value;\n"
		"  }\n"
		"  function showErrors(form, errors) {\n"
		"    var first = null;\n"
		"    form.querySelectorAll('.kz-field').forEach(function (f) {\n"
		"      f.classList.remove('kz-invalid');\n"
		"      var p = f.querySelector('.kz-error'); if (p) p.textContent = '';\n"
		"      f.querySelectorAll('input,select,textarea').forEach(function (i) { i.removeAttribute('aria-invalid'); });\n"
		"    });\n"
		"    (errors || []).forEach(function (e) {\n"
		"      var f = form.querySelector('[data-kz-field=\"' + e.field + '\"]');\n"
		"      if (!f) return;\n"
		"      f.classList.add('kz-invalid');\n"
		"      f.querySelector('.kz-error').textContent = e.message;\n"
		"      var i = f.querySelector('input,select,textarea');\n"
		"      if (i) { i.setAttribute('aria-invalid', 'true'); if (!first) first = i; }\n"
		"    });\n"
		"    if (first) first.focus();\n"
		"  }\n"
		"  function wire(form) {\n"
		"    var q = new URLSearchParams(w.location.search);\n"
		"    form.querySelectorAll('input[type=hidden]').forEach(function (i) {\n"
		"      if (i.name.charAt(0) != '_' && q.get(i.name)) i.value = q.get(i.name);\n"
		"    });\n"
		"    hidden(form, '_kz_vid', vid());\n"
		"    hidden(form, '_kz_page', w.location.href);\n"
		"    hidden(form, '_kz_ref', d.referrer || '');\n"
		"    form.addEventListener('submit', function (ev) {\n"
		"      ev.preventDefault();\n"
		"      var btn = form.querySelector('.kz-submit'); if (btn) btn.disabled = true;\n"
		"      hidden(form, '_kz_vid', vid());\n"
		"      var body = new URLSearchParams(new FormData(form));\n"
		"      fetch(form.action, { method: 'POST', body: body, headers: { 'Accept': 'application/json' } })\n"
		"        .then(function (r) { return r.json().then(function (j) { return { s: r.status, j: j }; }); })\n"
		"        .then(function (res) {\n"
		"          if (btn) btn.disabled = false;\n"
		"          if (res.j.token) hidden(form, '_kz_t', res.j.token);\n"
		"          if (res.s >= 400) {\n"
		"            showErrors(form, res.j.errors || (res.j.error ? [res.j.error] : []));\n"
		"            if (!res.j.errors && res.j.error) { var g = form.querySelector('.kz-form-error') || d.createElement('p'); g.className = 'kz-error kz-form-error'; g.setAttribute('role', 'alert'); g.textContent = res.j.error.message; form.appendChild(g); }\n"
		"            return;\n"
		"          }\n"
		"          if (res.j.redirect) { w.location.href = res.j.redirect; return; }\n"
		"          var t = d.createElement('div'); t.className = 'kz-thanks'; t.setAttribute('role', 'status');\n"
		"          var p = d.createElement('p'); p.textContent = res.j.message || ''; t.appendChild(p);\n"
		"          if (res.j.download_url) { var a = d.createElement('a'); a.className = 'kz-download'; a.href = res.j.download_url; a.textContent = lang == 'ja' ? '資料をダウンロード' : 'Download'; t.appendChild(a); }\n"
		"          form.replaceWith(t);\n"
		"        })\n"
		"        .catch(function () { if (btn) btn.disabled = false; });\n"
		"    });\n"
		"  }\n"
		"  var url = BASE + '/f/' + ID + '?format=fragment&lang=' + encodeURIComponent(lang) + '&vid=' + encodeURIComponent(vid());\n"
		"  fetch(url).then(function (r) { return r.text(); }).then(function (html) {\n"
		"    if (!d.getElementById('kz-form-css')) {\n"
		"      var st = d.createElement('link'); st.id = 'kz-form-css'; st.rel = 'stylesheet'; st.href = BASE + '/f/form.css'; d.head.appendChild(st);\n"
		"    }\n"
		"    host.innerHTML = html;\n"
		"    var form = host.querySelector('form'); if (form) wire(form);\n"
		"  });\n"
		"})();\n");
}
