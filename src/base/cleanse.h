/* cleanse.h — normalises e-mail addresses, phone numbers and names on every contact write. */
#ifndef KZ_CLEANSE_H
#define KZ_CLEANSE_H

#include <stddef.h>

/* Trim, NFKC-normalise and lowercase an e-mail address, then check its syntax.
 * Returns 0 with *out malloc'd, or -1 (invalid, not UTF-8, or out of memory)
 * with *out NULL. Domains must be ASCII (no IDN). */
int kz_clean_email(const char *in, char **out /* OUT: malloc'd */);

/* Normalise a phone number to E.164 ("+819012345678"). A leading '+' or "00"
 * gives the country code; otherwise default_country (ISO 3166 alpha-2, may be
 * NULL) supplies it. Returns 0 with *out malloc'd, or -1 with *out NULL. */
int kz_clean_phone(const char *in, const char *default_country, char **out /* OUT: malloc'd */);

/* 1 if kz_clean_phone knows the calling code of this ISO alpha-2 country
 * (case-insensitive), else 0. */
int kz_phone_country_known(const char *cc);

/* NFKC-normalise a person or company name, trim it and collapse whitespace
 * runs to one space. Returns a malloc'd string (maybe ""), or NULL when the
 * input is NULL, not UTF-8, or memory ran out. */
char *kz_clean_name(const char *in);

/* Fold text for search and duplicate detection: NFKC, casefold, hiragana to
 * katakana, all whitespace removed ("やまだ", "ﾔﾏﾀﾞ" -> "ヤマダ"). Returns a
 * malloc'd string, or NULL when the input is NULL, not UTF-8, or out of memory. */
char *kz_fold_search(const char *in);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF), else 0. */
int kz_utf8_valid(const char *s, size_t len);

#endif
