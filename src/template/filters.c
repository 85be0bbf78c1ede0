/* filters.c — the template filters (default, upcase, date, truncate, ...) over JSON values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/buf.h"
#include "base/timeutil.h"
#include "base/tz.h"
#include "template/tpl_internal.h"

#include "base/banned.h"

#define MAX_SPLIT 10000

static void num_text(double d, kz_buf *out)
{
	char b[40];
	if (isnan(d) || isinf(d)) {
		kz_buf_adds(out, "0");
		return;
	}
	snprintf(b, sizeof b, "%.15g", d);
	kz_buf_adds(out, b);
	if (!strpbrk(b, ".e"))
		kz_buf_adds(out, ".0");
}

void kz_tpl_stringify(json_t *v, kz_buf *out)
{
	size_t i;
	json_t *it;
	char b[32];
	if (!v)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING: kz_buf_add(out, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER:
		snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
		kz_buf_adds(out, b);
		break;
	case JSON_REAL: num_text(json_real_value(v), out); break;
	case JSON_TRUE: kz_buf_adds(out, "true"); break;
	case JSON_FALSE: kz_buf_adds(out, "false"); break;
	case JSON_ARRAY:
		json_array_foreach(v, i, it)
			kz_tpl_stringify(it, out);
		break;
	default: break;
	}
}

double kz_tpl_number(json_t *v, int *is_int, long long *ival)
{
	*is_int = 1;
	*ival = 0;
	if (json_is_integer(v)) {
		*ival = (long long)json_integer_value(v);
		return (double)*ival;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		*is_int = 0;
		*ival = isfinite(d) && fabs(d) < 9e18 ? (long long)d : 0;
		return d;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d;
		long long l = strtoll(s, &end, 10);
		while (*end == ' ')
			end++;
		if (end != s && !*end) {
			*ival = l;
			return (double)l;
		}
		d = strtod(s, &end);
		if (end != s) {
			*is_int = 0;
			*ival = isfinite(d) && fabs(d) < 9e18 ? (long long)d : 0;
			return d;
		}
	}
	return 0;
}

/* The value as a string (new reference). */
static json_t *as_string(json_t *v)
{
	kz_buf b;
	json_t *s;
	if (json_is_string(v))
		return json_incref(v);
	kz_buf_init(&b, 0);
	kz_tpl_stringify(v, &b);
	s = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	return s;
}

static int f_default(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	(void)msg;
	(void)ml;
	if (!in || json_is_null(in) || json_is_false(in) ||
	    (json_is_string(in) && !json_string_length(in)) ||
	    (json_is_array(in) && !json_array_size(in)))
		*out = a[0] ? json_incref(a[0]) : NULL;
	else
		*out = json_incref(in);
	return 0;
}

typedef enum { CASE_UP, CASE_DOWN, CASE_CAP } casekind;

static json_t *map_case(json_t *in, casekind k)
{
	json_t *s = as_string(in), *r;
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)json_string_value(s);
	utf8proc_ssize_t len = (utf8proc_ssize_t)json_string_length(s), i = 0;
	kz_buf b;
	int first = 1;
	kz_buf_init(&b, 0);
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t step = utf8proc_iterate(p + i, len - i, &cp);
		if (step <= 0) {
			kz_buf_addc(&b, (char)p[i]);
			i++;
			continue;
		}
		if (k == CASE_UP || (k == CASE_CAP && first))
			cp = utf8proc_toupper(cp);
		else if (k == CASE_DOWN || k == CASE_CAP)
			cp = utf8proc_tolower(cp);
		first = 0;
		kz_buf_add(&b, enc, (size_t)utf8proc_encode_char(cp, enc));
		i += step;
	}
	r = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	json_decref(s);
	return r;
}

static int f_upcase(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = in ? map_case(in, CASE_UP) : NULL;
	return 0;
}

static int f_downcase(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = in ? map_case(in, CASE_DOWN) : NULL;
	return 0;
}

static int f_capitalize(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = in ? map_case(in, CASE_CAP) : NULL;
	return 0;
}

/* Byte offset after `chars` UTF-8 characters of s (or len). */
static size_t utf8_prefix(const char *s, size_t len, long chars)
{
	size_t i = 0;
	while (i < len && chars > 0) {
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars--;
	}
	return i;
}

static long utf8_len(const char *s, size_t len)
{
	long n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static int f_truncate(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *s, *ell = n > 1 && a[1] ? as_string(a[1]) : json_string_nocheck("...");
	long long want = 50;
	int isint;
	long ellen;
	(void)msg, (void)ml;
	if (n > 0)
		kz_tpl_number(a[0], &isint, &want);
	if (!in) {
		*out = NULL;
		json_decref(ell);
		return 0;
	}
	s = as_string(in);
	ellen = utf8_len(json_string_value(ell), json_string_length(ell));
	if (utf8_len(json_string_value(s), json_string_length(s)) <= want) {
		*out = s;
	} else {
		long keep = want - ellen > 0 ? (long)(want - ellen) : 0;
		size_t cut = utf8_prefix(json_string_value(s), json_string_length(s), keep);
		kz_buf b;
		kz_buf_init(&b, 0);
		kz_buf_add(&b, json_string_value(s), cut);
		kz_buf_add(&b, json_string_value(ell), json_string_length(ell));
		*out = json_stringn_nocheck(b.data, b.len);
		kz_buf_release(&b);
		json_decref(s);
	}
	json_decref(ell);
	return 0;
}

static int f_escape(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *s;
	kz_buf b;
	(void)a, (void)n, (void)msg, (void)ml;
	if (!in) {
		*out = NULL;
		return 0;
	}
	s = as_string(in);
	kz_buf_init(&b, 0);
	for (const char *p = json_string_value(s); *p; p++) {
		switch (*p) {
		case '&': kz_buf_adds(&b, "&amp;"); break;
		case '<': kz_buf_adds(&b, "&lt;"); break;
		case '>': kz_buf_adds(&b, "&gt;"); break;
		case '"': kz_buf_adds(&b, "&quot;"); break;
		case '\'': kz_buf_adds(&b, "&#39;"); break;
		default: kz_buf_addc(&b, *p);
		}
	}
	*out = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	json_decref(s);
	return 0;
}

static int f_raw(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = in ? json_incref(in) : NULL;
	return 0;
}

static int f_url_encode(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	static const char hex[] = "0123456789ABCDEF";
	json_t *s;
	kz_buf b;
	(void)a, (void)n, (void)msg, (void)ml;
	if (!in) {
		*out = NULL;
		return 0;
	}
	s = as_string(in);
	kz_buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)json_string_value(s); *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			kz_buf_addc(&b, (char)*p);
		} else if (*p == ' ') {
			kz_buf_addc(&b, '+');
		} else {
			kz_buf_addc(&b, '%');
			kz_buf_addc(&b, hex[*p >> 4]);
			kz_buf_addc(&b, hex[*p & 15]);
		}
	}
	*out = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	json_decref(s);
	return 0;
}

/* ---- numbers ---- */

static json_t *num_result(double d, int is_int, long long l)
{
	return is_int ? json_integer(l) : json_real(d);
}

static int arith(json_t *in, json_t *arg, char op, json_t **out, char *msg, size_t ml)
{
	int ai, bi;
	long long al, bl;
	double ad = kz_tpl_number(in, &ai, &al), bd = kz_tpl_number(arg, &bi, &bl);
	int ints = ai && bi;
	switch (op) {
	case '+':
		*out = ints ? json_integer(al + bl) : json_real(ad + bd);
		break;
	case '-':
		*out = ints ? json_integer(al - bl) : json_real(ad - bd);
		break;
	case '*':
		*out = ints ? json_integer(al * bl) : json_real(ad * bd);
		break;
	case '/':
	case '%':
		if (bd == 0) {
			snprintf(msg, ml, "division by zero");
			*out = NULL;
			return -1;
		}
		if (op == '%')
			*out = ints ? json_integer(al % bl) : json_real(fmod(ad, bd));
		else
			*out = ints ? json_integer(al / bl) : json_real(ad / bd);
		break;
	}
	return 0;
}

static int f_plus(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	return arith(in, a[0], '+', out, msg, ml);
}

static int f_minus(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	return arith(in, a[0], '-', out, msg, ml);
}

static int f_times(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	return arith(in, a[0], '*', out, msg, ml);
}

static int f_divided_by(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	return arith(in, a[0], '/', out, msg, ml);
}

static int f_modulo(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n;
	return arith(in, a[0], '%', out, msg, ml);
}

static int f_round(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	int isint;
	long long l, places = 0;
	double d = kz_tpl_number(in, &isint, &l), m;
	(void)msg, (void)ml;
	if (n > 0)
		kz_tpl_number(a[0], &isint, &places);
	if (places <= 0) {
		*out = json_integer((json_int_t)llround(d));
		return 0;
	}
	if (places > 10)
		places = 10;
	m = pow(10, (double)places);
	*out = json_real(round(d * m) / m);
	return 0;
}

static int f_abs(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	int isint;
	long long l;
	double d = kz_tpl_number(in, &isint, &l);
	(void)a, (void)n, (void)msg, (void)ml;
	*out = num_result(fabs(d), isint, l < 0 ? -l : l);
	return 0;
}

/* ceil and floor: the number rounded by fn, as an integer. */
static int rounded(json_t *in, double (*fn)(double), json_t **out)
{
	int isint;
	long long l;
	*out = json_integer((json_int_t)fn(kz_tpl_number(in, &isint, &l)));
	return 0;
}

static int f_ceil(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	return rounded(in, ceil, out);
}

static int f_floor(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	return rounded(in, floor, out);
}

/* ---- strings and arrays ---- */

static int f_size(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	if (json_is_array(in))
		*out = json_integer((json_int_t)json_array_size(in));
	else if (json_is_object(in))
		*out = json_integer((json_int_t)json_object_size(in));
	else if (json_is_string(in))
		*out = json_integer(utf8_len(json_string_value(in), json_string_length(in)));
	else
		*out = json_integer(0);
	return 0;
}

static int f_join(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *sep = n > 0 && a[0] ? as_string(a[0]) : json_string_nocheck(" "), *it;
	kz_buf b;
	size_t i;
	(void)msg, (void)ml;
	if (!json_is_array(in)) {
		*out = in ? as_string(in) : NULL;
		json_decref(sep);
		return 0;
	}
	kz_buf_init(&b, 0);
	json_array_foreach(in, i, it) {
		if (i)
			kz_buf_add(&b, json_string_value(sep), json_string_length(sep));
		kz_tpl_stringify(it, &b);
	}
	*out = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	json_decref(sep);
	return 0;
}

static int f_split(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *s, *sep, *arr;
	const char *p, *d;
	size_t sl;
	(void)n, (void)msg, (void)ml;
	if (!in) {
		*out = json_array();
		return 0;
	}
	s = as_string(in);
	sep = a[0] ? as_string(a[0]) : json_string_nocheck(" ");
	arr = json_array();
	p = json_string_value(s);
	d = json_string_value(sep);
	sl = json_string_length(sep);
	if (!sl) {
		size_t len = json_string_length(s), i = 0;
		while (i < len && json_array_size(arr) < MAX_SPLIT) {
			size_t j = utf8_prefix(p + i, len - i, 1);
			json_array_append_new(arr, json_stringn_nocheck(p + i, j));
			i += j;
		}
	} else {
		const char *hit;
		while ((hit = strstr(p, d)) != NULL && json_array_size(arr) < MAX_SPLIT) {
			json_array_append_new(arr, json_stringn_nocheck(p, (size_t)(hit - p)));
			p = hit + sl;
		}
		if (*p)
			json_array_append_new(arr, json_string_nocheck(p));
	}
	json_decref(s);
	json_decref(sep);
	*out = arr;
	return 0;
}

static int f_first(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = NULL;
	if (json_is_array(in) && json_array_size(in))
		*out = json_incref(json_array_get(in, 0));
	else if (json_is_string(in) && json_string_length(in))
		*out = json_stringn_nocheck(json_string_value(in),
				    utf8_prefix(json_string_value(in), json_string_length(in), 1));
	return 0;
}

static int f_last(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)a, (void)n, (void)msg, (void)ml;
	*out = NULL;
	if (json_is_array(in) && json_array_size(in)) {
		*out = json_incref(json_array_get(in, json_array_size(in) - 1));
	} else if (json_is_string(in) && json_string_length(in)) {
		const char *s = json_string_value(in);
		size_t i = json_string_length(in) - 1;
		while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
			i--;
		*out = json_string_nocheck(s + i);
	}
	return 0;
}

/* first then second, as one string. */
static json_t *concat(json_t *first, json_t *second)
{
	kz_buf b;
	json_t *r;
	kz_buf_init(&b, 0);
	kz_tpl_stringify(first, &b);
	kz_tpl_stringify(second, &b);
	r = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	return r;
}

static int f_append(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n, (void)msg, (void)ml;
	*out = concat(in, a[0]);
	return 0;
}

static int f_prepend(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n, (void)msg, (void)ml;
	*out = concat(a[0], in);
	return 0;
}

static json_t *replace(json_t *in, json_t *from, json_t *to, int once)
{
	json_t *s = as_string(in), *f = as_string(from), *t = to ? as_string(to) : json_string_nocheck("");
	const char *p = json_string_value(s), *hit;
	size_t fl = json_string_length(f);
	kz_buf b;
	json_t *r;
	kz_buf_init(&b, 0);
	if (fl) {
		while ((hit = strstr(p, json_string_value(f))) != NULL) {
			kz_buf_add(&b, p, (size_t)(hit - p));
			kz_buf_add(&b, json_string_value(t), json_string_length(t));
			p = hit + fl;
			if (once)
				break;
		}
	}
	kz_buf_adds(&b, p);
	r = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	json_decref(s);
	json_decref(f);
	json_decref(t);
	return r;
}

static int f_replace(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)msg, (void)ml;
	*out = replace(in, a[0], n > 1 ? a[1] : NULL, 0);
	return 0;
}

static int f_remove(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	(void)n, (void)msg, (void)ml;
	*out = replace(in, a[0], NULL, 0);
	return 0;
}

static int f_strip(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *s;
	const char *p, *e;
	(void)a, (void)n, (void)msg, (void)ml;
	if (!in) {
		*out = NULL;
		return 0;
	}
	s = as_string(in);
	p = json_string_value(s);
	e = p + json_string_length(s);
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*out = json_stringn_nocheck(p, (size_t)(e - p));
	json_decref(s);
	return 0;
}

static int f_newline_to_br(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	json_t *nl = json_string_nocheck("\n"), *br = json_string_nocheck("<br />\n"), *s, *e = NULL;
	(void)a, (void)n;
	f_escape(in, NULL, 0, &e, msg, ml);
	s = e ? replace(e, nl, br, 0) : NULL;
	json_decref(e);
	json_decref(nl);
	json_decref(br);
	*out = s;
	return 0;
}

/* ---- dates ---- */

static const char *const wday_abbr[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const wday_full[] = {"Sunday", "Monday", "Tuesday", "Wednesday",
					"Thursday", "Friday", "Saturday"};
static const char *const wday_ja[] = {"日", "月", "火", "水", "木", "金", "土"};
static const char *const mon_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const mon_full[] = {"January", "February", "March",     "April",
				       "May",     "June",     "July",      "August",
				       "September", "October", "November", "December"};

typedef struct civil {
	long long y;
	int m, d, H, M, S, wday, yday;
} civil;

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm). */
static void civil_from_days(long long z, civil *c)
{
	long long era, doe, yoe, doy, mp;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->m = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->y = yoe + era * 400 + (c->m <= 2);
}

static int is_leap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void to_civil(int64_t secs, civil *c)
{
	static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	long long rem = secs - days * 86400;
	civil_from_days(days, c);
	c->H = (int)(rem / 3600);
	c->M = (int)(rem / 60 % 60);
	c->S = (int)(rem % 60);
	c->wday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
	c->yday = cum[c->m - 1] + c->d - 1 + (c->m > 2 && is_leap(c->y));
}

static void pad(kz_buf *b, long long v, int width, char padc, int nopad)
{
	char t[32];
	if (nopad)
		snprintf(t, sizeof t, "%lld", v);
	else if (padc == '0')
		snprintf(t, sizeof t, "%0*lld", width, v);
	else
		snprintf(t, sizeof t, "%*lld", width, v);
	kz_buf_adds(b, t);
}

/* strftime without the C library's locale and time zone. */
static void format_time(kz_buf *b, const char *fmt, int64_t secs, int off, const char *abbr)
{
	civil c;
	to_civil(secs + off, &c);
	for (const char *p = fmt; *p; p++) {
		int nopad = 0;
		if (*p != '%' || !p[1]) {
			kz_buf_addc(b, *p);
			continue;
		}
		p++;
		if (*p == '-' && p[1]) {
			nopad = 1;
			p++;
		}
		switch (*p) {
		case 'Y': pad(b, c.y, 4, '0', nopad); break;
		case 'y': pad(b, ((c.y % 100) + 100) % 100, 2, '0', nopad); break;
		case 'm': pad(b, c.m, 2, '0', nopad); break;
		case 'd': pad(b, c.d, 2, '0', nopad); break;
		case 'e': pad(b, c.d, 2, ' ', nopad); break;
		case 'H': pad(b, c.H, 2, '0', nopad); break;
		case 'I': pad(b, c.H % 12 ? c.H % 12 : 12, 2, '0', nopad); break;
		case 'l': pad(b, c.H % 12 ? c.H % 12 : 12, 2, ' ', nopad); break;
		case 'M': pad(b, c.M, 2, '0', nopad); break;
		case 'S': pad(b, c.S, 2, '0', nopad); break;
		case 'j': pad(b, c.yday + 1, 3, '0', nopad); break;
		case 'p': kz_buf_adds(b, c.H < 12 ? "AM" : "PM"); break;
		case 'P': kz_buf_adds(b, c.H < 12 ? "am" : "pm"); break;
		case 'a': kz_buf_adds(b, wday_abbr[c.wday]); break;
		case 'A': kz_buf_adds(b, wday_full[c.wday]); break;
		case 'J': kz_buf_adds(b, wday_ja[c.wday]); break; /* 曜日 in Japanese */
		case 'b':
		case 'h': kz_buf_adds(b, mon_abbr[c.m - 1]); break;
		case 'B': kz_buf_adds(b, mon_full[c.m - 1]); break;
		case 'u': pad(b, c.wday ? c.wday : 7, 1, '0', 1); break;
		case 'w': pad(b, c.wday, 1, '0', 1); break;
		case 's': pad(b, secs, 1, '0', 1); break;
		case 'F': format_time(b, "%Y-%m-%d", secs, off, abbr); break;
		case 'T': format_time(b, "%H:%M:%S", secs, off, abbr); break;
		case 'R': format_time(b, "%H:%M", secs, off, abbr); break;
		case 'D': format_time(b, "%m/%d/%y", secs, off, abbr); break;
		case 'c': format_time(b, "%a %b %e %H:%M:%S %Y", secs, off, abbr); break;
		case 'Z': kz_buf_adds(b, abbr); break;
		case 'z': {
			int a = off < 0 ? -off : off;
			kz_buf_addf(b, "%c%02d%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
			break;
		}
		case '%': kz_buf_addc(b, '%'); break;
		default:
			kz_buf_addc(b, '%');
			kz_buf_addc(b, *p);
		}
	}
}

static int f_date(json_t *in, json_t **a, int n, json_t **out, char *msg, size_t ml)
{
	int64_t ms;
	int off = 0;
	char abbr[16];
	const char *zone = n > 1 && json_is_string(a[1]) ? json_string_value(a[1]) : "UTC";
	kz_buf b;
	*out = NULL;
	if (!json_is_string(a[0])) {
		snprintf(msg, ml, "the format must be a string like \"%%Y-%%m-%%d\"");
		return -1;
	}
	if (json_is_integer(in)) {
		ms = (int64_t)json_integer_value(in) * 1000; /* seconds since the epoch */
	} else if (json_is_string(in) && (!strcmp(json_string_value(in), "now") ||
					  !strcmp(json_string_value(in), "today"))) {
		ms = kz_now_ms();
	} else if (!json_is_string(in) || kz_time_parse_iso(json_string_value(in), &ms) < 0) {
		*out = in ? json_incref(in) : NULL; /* Liquid leaves what is not a date alone */
		return 0;
	}
	if (kz_tz_offset(zone, ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000), &off, abbr,
			 sizeof abbr) < 0) {
		snprintf(msg, ml, "unknown time zone \"%.60s\" (use a name like Asia/Tokyo)", zone);
		return -1;
	}
	kz_buf_init(&b, 4096);
	format_time(&b, json_string_value(a[0]), ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000), off,
		    abbr);
	*out = json_stringn_nocheck(b.data, b.len);
	kz_buf_release(&b);
	return 0;
}

static const kz_tpl_filter filters[] = {
	{"abs", 0, 0, 0, f_abs},
	{"append", 1, 1, 0, f_append},
	{"capitalize", 0, 0, 0, f_capitalize},
	{"ceil", 0, 0, 0, f_ceil},
	{"date", 1, 2, 0, f_date},
	{"default", 1, 1, 0, f_default},
	{"divided_by", 1, 1, 0, f_divided_by},
	{"downcase", 0, 0, 0, f_downcase},
	{"escape", 0, 0, 1, f_escape},
	{"first", 0, 0, 0, f_first},
	{"floor", 0, 0, 0, f_floor},
	{"join", 0, 1, 0, f_join},
	{"last", 0, 0, 0, f_last},
	{"minus", 1, 1, 0, f_minus},
	{"modulo", 1, 1, 0, f_modulo},
	{"newline_to_br", 0, 0, 1, f_newline_to_br},
	{"plus", 1, 1, 0, f_plus},
	{"prepend", 1, 1, 0, f_prepend},
	{"raw", 0, 0, 1, f_raw},
	{"remove", 1, 1, 0, f_remove},
	{"replace", 1, 2, 0, f_replace},
	{"round", 0, 1, 0, f_round},
	{"size", 0, 0, 0, f_size},
	{"split", 1, 1, 0, f_split},
	{"strip", 0, 0, 0, f_strip},
	{"times", 1, 1, 0, f_times},
	{"truncate", 0, 2, 0, f_truncate},
	{"upcase", 0, 0, 0, f_upcase},
	{"url_encode", 0, 0, 0, f_url_encode},
};

const kz_tpl_filter *kz_tpl_filter_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
		if (strlen(filters[i].name) == len && !memcmp(filters[i].name, name, len))
			return &filters[i];
	return NULL;
}
