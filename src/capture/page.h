/* page.h — landing pages: the definition (blocks or raw HTML, SEO fields), its validation and
 * the page's HTML (no SQL, no HTTP). */
#ifndef KZ_CAPTURE_PAGE_H
#define KZ_CAPTURE_PAGE_H

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"

/* Validate `in` into rec (slug, title, published) and *def (description, blocks | html, seo,
 * site_key). create=1 requires slug and title. Returns 0 or -1 with err. */
int kz_page_apply(json_t *rec, json_t *def, const json_t *in, int create, kz_err *err);

/* Renders a form block's markup (the embed code of form `form_id`) into b; 0, or -1 when the
 * form does not exist (the block is left out). */
typedef int (*kz_page_form_fn)(void *ud, long long form_id, kz_buf *b);

/* The whole landing page: <head> with title, description, Open Graph, canonical, robots and
 * kz.js (when the page names a site key), then the blocks (every text escaped; "html" blocks
 * and raw-HTML pages are the marketer's own markup, as given). */
void kz_page_render(kz_buf *b, const json_t *page, const char *base_url, kz_page_form_fn form,
		    void *ud);

#endif
