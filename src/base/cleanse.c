/* cleanse.c — normalises e-mail addresses, phone numbers and names (NFKC via utf8proc). */
#include "base/cleanse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/buf.h"
#include "base/banned.h"

#define EMAIL_MAX 254
#define EMAIL_LOCAL_MAX 64
#define EMAIL_LABEL_MAX 63
#define E164_MIN_DIGITS 8
#define E164_MAX_DIGITS 15

/* ---- UTF-8 and code point classes ---------------------------------------- */

int kz_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	if (!s)
		return len == 0;
	while (i < len) {
		unsigned char c = p[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t need, k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c < 0xC2) /* stray continuation byte, or overlong C0/C1 lead */
			return 0;
		if (c < 0xE0) {
			need = 1;
		} else if (c < 0xF0) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* UTF-16 surrogates */
		} else if (c < 0xF5) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return 0;
		}
		if (len - i <= need)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}

/* Unicode White_Space (NFKC already folds most of these to U+0020). */
static int is_space_cp(int32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Invisible characters that copy-paste drags in (zero-width space, word
 * joiner, BOM). Not White_Space, but never meant as content in our fields. */
static int is_invisible_cp(int32_t c)
{
	return c == 0x200B || c == 0x2060 || c == 0xFEFF;
}

/* Hyphens and dashes people type between phone digit groups, including the
 * katakana prolonged sound mark that Japanese IMEs produce for '-'. */
static int is_dash_cp(int32_t c)
{
	return c == '-' || (c >= 0x2010 && c <= 0x2015) || c == 0x2043 || c == 0x2212 ||
	       c == 0x30FC || c == 0xFE58 || c == 0xFE63 || c == 0xFF0D || c == 0xFF70;
}

/* Decode the code point at s[*i] (s is known-valid UTF-8) and advance *i. */
static int32_t next_cp(const char *s, size_t len, size_t *i)
{
	utf8proc_int32_t c = -1;
	utf8proc_ssize_t n =
	    utf8proc_iterate((const utf8proc_uint8_t *)s + *i, (utf8proc_ssize_t)(len - *i), &c);
	*i += n > 0 ? (size_t)n : 1;
	return c;
}

/* Run utf8proc over a C string after checking it is valid UTF-8.
 * Returns a malloc'd NUL-terminated result or NULL. */
static char *uc_map(const char *in, utf8proc_option_t opts, size_t *out_len /* OUT */)
{
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t n;
	size_t len, i;
	if (!in)
		return NULL;
	/* Fast path: printable ASCII is its own NFKC form (case folding aside). Most emails,
	 * and many names, take it; utf8proc costs a fifth of an import otherwise. */
	len = strlen(in);
	for (i = 0; i < len && in[i] >= 0x20 && in[i] < 0x7f; i++)
		;
	if (i == len) {
		char *copy = malloc(len + 1);
		if (!copy)
			return NULL;
		for (i = 0; i <= len; i++)
			copy[i] = (opts & UTF8PROC_CASEFOLD) && in[i] >= 'A' && in[i] <= 'Z'
					  ? (char)(in[i] + 32)
					  : in[i];
		*out_len = len;
		return copy;
	}
	if (!kz_utf8_valid(in, len))
		return NULL;
	n = utf8proc_map((const utf8proc_uint8_t *)in, 0, &dst,
	                 opts | UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT |
	                     UTF8PROC_COMPOSE);
	if (n < 0)
		return NULL;
	*out_len = (size_t)n;
	return (char *)dst;
}

/* ---- names and search keys ----------------------------------------------- */

enum {
	PASS_DROP_SPACE = 1, /* remove whitespace entirely (else collapse and trim) */
	PASS_KATAKANA = 2,   /* hiragana U+3041..U+3096 -> katakana */
};

/* Second pass over NFKC output: whitespace handling and kana folding. */
static char *postpass(const char *s, size_t len, int flags)
{
	kz_buf b;
	size_t i = 0;
	int pending_space = 0;
	kz_buf_init(&b, 0);
	while (i < len) {
		int32_t c = next_cp(s, len, &i);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t n;
		if (c < 0 || is_invisible_cp(c))
			continue;
		if (is_space_cp(c)) {
			pending_space = !(flags & PASS_DROP_SPACE) && b.len > 0;
			continue;
		}
		if (pending_space)
			kz_buf_addc(&b, ' ');
		pending_space = 0;
		if ((flags & PASS_KATAKANA) && c >= 0x3041 && c <= 0x3096)
			c += 0x60;
		n = utf8proc_encode_char(c, enc);
		kz_buf_add(&b, enc, (size_t)n);
	}
	if (b.overflow) {
		kz_buf_release(&b);
		return NULL;
	}
	return kz_buf_detach(&b, NULL);
}

/* Whether the normalization below leaves s as it is: printable ASCII (NFKC keeps it) with
 * single spaces between words only. Most event and field names are; they skip utf8proc. */
static int ascii_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (*p == ' ')
		return 0;
	for (; *p; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return 0;
		if (*p == ' ' && (p[1] == ' ' || p[1] == '\0'))
			return 0;
	}
	return 1;
}

char *kz_clean_name(const char *in)
{
	size_t len;
	char *norm, *out;
	if (in && ascii_clean(in))
		return strdup(in);
	/* STRIPCC turns tabs and line breaks into spaces and drops other controls. */
	norm = uc_map(in, UTF8PROC_STRIPCC, &len);
	if (!norm)
		return NULL;
	out = postpass(norm, len, 0);
	free(norm);
	return out;
}

char *kz_fold_search(const char *in)
{
	size_t len;
	char *norm, *out;
	/* The flags of utf8proc_NFKC_Casefold, plus STRIPCC. */
	norm = uc_map(in, UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_STRIPCC, &len);
	if (!norm)
		return NULL;
	out = postpass(norm, len, PASS_DROP_SPACE | PASS_KATAKANA);
	free(norm);
	return out;
}

/* ---- e-mail --------------------------------------------------------------- */

/* Narrow [*start, *end) of s past leading and trailing whitespace/invisibles. */
static void trim_span(const char *s, size_t len, size_t *start, size_t *end)
{
	size_t i = 0, j;
	*start = len;
	*end = len;
	while (i < len) {
		size_t at = i;
		int32_t c = next_cp(s, len, &i);
		if (!is_space_cp(c) && !is_invisible_cp(c)) {
			*start = at;
			break;
		}
	}
	j = len;
	while (j > *start) {
		size_t at = j - 1, k;
		int32_t c;
		while (at > *start && ((unsigned char)s[at] & 0xC0) == 0x80)
			at--;
		k = at;
		c = next_cp(s, len, &k);
		if (!is_space_cp(c) && !is_invisible_cp(c))
			break;
		j = at;
	}
	*end = j;
}

static int is_local_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(".!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int email_local_ok(const char *s, size_t n)
{
	size_t i;
	if (n == 0 || n > EMAIL_LOCAL_MAX || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_local_char(s[i]))
			return 0;
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int email_domain_ok(const char *s, size_t n)
{
	size_t i = 0, dots = 0;
	while (i <= n) {
		size_t start = i;
		while (i < n && s[i] != '.') {
			if (!is_label_char(s[i]))
				return 0;
			i++;
		}
		if (i == start || i - start > EMAIL_LABEL_MAX || s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (i == n)
			break;
		dots++;
		i++; /* past the dot */
	}
	return dots > 0;
}

static int email_syntax_ok(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t local;
	if (!at || n > EMAIL_MAX)
		return 0;
	local = (size_t)(at - s);
	if (memchr(at + 1, '@', n - local - 1))
		return 0;
	return email_local_ok(s, local) && email_domain_ok(at + 1, n - local - 1);
}

int kz_clean_email(const char *in, char **out)
{
	size_t len, start, end, i;
	char *norm = NULL, *res = NULL;
	int rc = -1;
	*out = NULL;
	norm = uc_map(in, 0, &len);
	if (!norm)
		goto out;
	trim_span(norm, len, &start, &end);
	if (end - start == 0 || end - start > EMAIL_MAX)
		goto out;
	res = malloc(end - start + 1);
	if (!res)
		goto out;
	for (i = start; i < end; i++) {
		char c = norm[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c | 0x20);
		res[i - start] = c;
	}
	res[end - start] = '\0';
	if (!email_syntax_ok(res, end - start))
		goto out;
	*out = res;
	res = NULL;
	rc = 0;
out:
	free(res);
	free(norm);
	return rc;
}

/* ---- phone ---------------------------------------------------------------- */

enum trunk { TRUNK_NONE, TRUNK_ZERO, TRUNK_NANP };

struct phone_country {
	const char *iso;
	const char *code;
	enum trunk trunk;
};

static const struct phone_country phone_countries[] = {
	{"JP", "81", TRUNK_ZERO},  {"US", "1", TRUNK_NANP},    {"CA", "1", TRUNK_NANP},
	{"GB", "44", TRUNK_ZERO},  {"UK", "44", TRUNK_ZERO},   {"DE", "49", TRUNK_ZERO},
	{"FR", "33", TRUNK_ZERO},  {"CN", "86", TRUNK_ZERO},   {"KR", "82", TRUNK_ZERO},
	{"TW", "886", TRUNK_ZERO}, {"SG", "65", TRUNK_NONE},   {"AU", "61", TRUNK_ZERO},
	{"IN", "91", TRUNK_ZERO},
};

#define N_PHONE_COUNTRIES (sizeof(phone_countries) / sizeof(phone_countries[0]))

static char ascii_upper(char c)
{
	if (c >= 'a' && c <= 'z')
		c = (char)(c & ~0x20);
	return c;
}

static const struct phone_country *country_by_iso(const char *cc)
{
	size_t i;
	if (!cc || strlen(cc) != 2)
		return NULL;
	for (i = 0; i < N_PHONE_COUNTRIES; i++) {
		const char *iso = phone_countries[i].iso;
		if (ascii_upper(cc[0]) == iso[0] && ascii_upper(cc[1]) == iso[1])
			return &phone_countries[i];
	}
	return NULL;
}

/* The supported country whose calling code prefixes `digits`, if any. The
 * codes in the table form a prefix-free set, so the first match is the one. */
static const struct phone_country *country_by_code(const char *digits)
{
	size_t i;
	for (i = 0; i < N_PHONE_COUNTRIES; i++) {
		const char *code = phone_countries[i].code;
		if (strncmp(digits, code, strlen(code)) == 0)
			return &phone_countries[i];
	}
	return NULL;
}

int kz_phone_country_known(const char *cc)
{
	return country_by_iso(cc) != NULL;
}

/* Collect the digits of s into d (NUL-terminated), noting a leading '+'.
 * Separators are skipped; anything else (letters, '+' later on) fails. */
static int phone_digits(const char *s, size_t len, char *d, size_t dsize, int *plus)
{
	size_t i = 0, n = 0;
	*plus = 0;
	while (i < len) {
		int32_t c = next_cp(s, len, &i);
		if (c >= '0' && c <= '9') {
			if (n + 1 >= dsize)
				return -1;
			d[n++] = (char)c;
		} else if (c == '+' && n == 0 && !*plus) {
			*plus = 1;
		} else if (!(is_space_cp(c) || is_invisible_cp(c) || is_dash_cp(c) || c == '.' ||
		             c == '(' || c == ')')) {
			return -1;
		}
	}
	d[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Skip the national trunk prefix: "0" in most countries, an optional "1" in
 * the North American plan. */
static const char *skip_trunk(const struct phone_country *c, const char *nat)
{
	if (c->trunk == TRUNK_ZERO && nat[0] == '0')
		return nat + 1;
	if (c->trunk == TRUNK_NANP && nat[0] == '1' && strlen(nat) == 11)
		return nat + 1;
	return nat;
}

/* Check the national significant number for country c. Where the trunk
 * prefix is 0, no national number itself starts with 0 (so "+81 00..." is
 * rejected rather than losing one zero per cleaning). */
static int national_ok(const struct phone_country *c, const char *nat)
{
	if (c->trunk == TRUNK_NANP)
		return strlen(nat) == 10 && nat[0] >= '2' && nat[0] <= '9';
	if (c->trunk == TRUNK_ZERO)
		return nat[0] >= '1' && nat[0] <= '9';
	return nat[0] != '\0';
}

int kz_clean_phone(const char *in, const char *default_country, char **out)
{
	char digits[40] = {0}, res[48]; /* res: room for any code + digits */
	const struct phone_country *c;
	const char *code, *nat;
	char *norm;
	size_t len, total;
	int plus, r;
	*out = NULL;
	norm = uc_map(in, 0, &len);
	if (!norm)
		return -1;
	r = phone_digits(norm, len, digits, sizeof(digits), &plus);
	free(norm);
	if (r < 0)
		return -1;
	if (plus || strncmp(digits, "00", 2) == 0) {
		const char *intl = plus ? digits : digits + 2;
		if (intl[0] == '0' || intl[0] == '\0')
			return -1;
		c = country_by_code(intl);
		code = c ? c->code : "";
		nat = intl + strlen(code);
		/* "+81 (0)90..." and "+81 090...": the trunk 0 does not belong after
		 * the country code, but people write it; drop it. */
		if (c && c->trunk == TRUNK_ZERO && nat[0] == '0')
			nat++;
	} else {
		c = country_by_iso(default_country);
		if (!c)
			return -1;
		code = c->code;
		nat = skip_trunk(c, digits);
	}
	if (c && !national_ok(c, nat))
		return -1;
	total = strlen(code) + strlen(nat);
	if (total < E164_MIN_DIGITS || total > E164_MAX_DIGITS)
		return -1;
	snprintf(res, sizeof(res), "+%s%s", code, nat);
	*out = strdup(res);
	return *out ? 0 : -1;
}
