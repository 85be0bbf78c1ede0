/* abtest.h — A/B variants of landing pages: their definition, a sticky assignment of each
 * visitor, the page a variant shows, and the report (conversion per variant, the winner). */
#ifndef KZ_CAPTURE_ABTEST_H
#define KZ_CAPTURE_ABTEST_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

#define KZ_AB_MAX_VARIANTS 4
#define KZ_AB_MIN_VISITS 30 /* per variant before a winner may be named */

/* Validate a page's "variants": [{"key","weight" (1-99),"title"?,"description"?,
 * "blocks"|"html"}]; the page itself is variant "a" and gets 100 minus their weights. */
int kz_ab_check(const json_t *variants, kz_err *err);
/* The variant visitor `vid` gets on page `page_id`: "a" or a key (borrowed from variants).
 * The same visitor always gets the same one while the weights stay. */
const char *kz_ab_assign(const json_t *variants, const char *vid, int64_t page_id);
/* 1 when key names the control "a" or one of the variants. */
int kz_ab_known(const json_t *variants, const char *key);
/* The page as variant `key` shows it (new reference; "a": the page itself). */
json_t *kz_ab_page(const json_t *page, const char *key);
/* {"variants":[{"key","weight","visits","conversions","conversion_rate"}],"winner":key|null,
 * "confidence":p|null,"status":"collecting"|"no_difference"|"winner"} from counts
 * {key: {"visits","conversions"}}. */
json_t *kz_ab_report(const json_t *variants, const json_t *counts);

#endif
