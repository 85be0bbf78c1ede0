/* render.h — HTML for visitors: escaped text, a form's markup (hosted page, plain snippet and
 * the script embed share it), the thank-you page, and the embed script. */
#ifndef KZ_CAPTURE_RENDER_H
#define KZ_CAPTURE_RENDER_H

#include <jansson.h>
#include <stdint.h>

#include "base/buf.h"

/* Append s with & < > " ' escaped (safe in text and in quoted attributes). */
void kz_html_escape(kz_buf *b, const char *s);

typedef struct kz_form_view {
	const json_t *form;   /* the stored form */
	const json_t *fields; /* the fields to show (kz_form_visible_fields) */
	const char *lang;     /* "ja" or "en" */
	const char *action;   /* absolute URL the form posts to */
	const char *token;    /* the render token (_kz_t) */
	const json_t *values; /* what the visitor sent (re-shown after errors), or NULL */
	const json_t *errors; /* [{"field","code","message"}] or NULL */
	const char *anon_id;  /* the visitor id to carry (_kz_vid), or NULL */
} kz_form_view;

/* The <form> element with every field, its label, help, inline error and the honeypot. */
void kz_render_form(kz_buf *b, const kz_form_view *v);
/* The CSS of forms, themeable through --kz-* custom properties. */
const char *kz_render_form_css(void);
/* A whole page around body_html (already safe), titled `title` (escaped here). */
void kz_render_page(kz_buf *b, const char *lang, const char *title, const char *body_html);
/* The thank-you block: the message, and a download link when `download_url` is set. */
void kz_render_thanks(kz_buf *b, const char *message, const char *download_url, const char *lang);
/* The script behind <script src="/f/{id}.js">: renders the form into the host page. */
void kz_render_embed_js(kz_buf *b, int64_t form_id, const char *base_url);

#endif
