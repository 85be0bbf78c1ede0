/* json.c — a fast strict JSON reader into jansson values, and a compact JSON writer. */
#include "base/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/banned.h"

typedef struct reader {
	const unsigned char *p, *start, *end;
	kz_json_error *err;
	int depth;
	int failed;
	char *scratch; /* decoded strings that held escapes */
	size_t scratch_alloc;
} reader;

static void fail(reader *r, const unsigned char *at, const char *what)
{
	const unsigned char *q;
	kz_json_error *e = r->err;
	if (r->failed)
		return;
	r->failed = 1;
	if (!e)
		return;
	if (at > r->end)
		at = r->end;
	e->position = (size_t)(at - r->start);
	e->line = 1;
	e->column = 1;
	for (q = r->start; q < at; q++) {
		if (*q == '\n') {
			e->line++;
			e->column = 1;
		} else {
			e->column++;
		}
	}
	snprintf(e->text, sizeof e->text, "%s", what);
}

static void skip_ws(reader *r)
{
	while (r->p < r->end &&
	       (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
	int i;
	*v = 0;
	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		unsigned c = p[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/* The length of the well-formed UTF-8 sequence at p (2..4), or 0 (overlong forms,
 * surrogates and code points past U+10FFFF are not well formed). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n, i;
	uint32_t cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int scratch_reserve(reader *r, size_t n)
{
	char *p;
	size_t want = r->scratch_alloc ? r->scratch_alloc : 256;
	if (n <= r->scratch_alloc)
		return 0;
	while (want < n)
		want *= 2;
	p = realloc(r->scratch, want);
	if (!p)
		return -1;
	r->scratch = p;
	r->scratch_alloc = want;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode the escapes of the string body [s, e) (already checked) into r->scratch. */
static int decode(reader *r, const unsigned char *s, const unsigned char *e, size_t *len)
{
	char *o;
	if (scratch_reserve(r, (size_t)(e - s) + 1) < 0)
		return -1;
	o = r->scratch;
	while (s < e) {
		uint32_t cp, lo;
		if (*s != '\\') {
			*o++ = (char)*s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		default: /* 'u', checked by lex_string */
			hex4(s, e, &cp);
			s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				hex4(s + 2, e, &lo);
				s += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			o += put_utf8(o, cp);
		}
	}
	*len = (size_t)(o - r->scratch);
	return 0;
}

/* A string at r->p (on its opening quote): *out and *len are its text, either in the
 * input (no escapes) or in r->scratch (valid until the next string). */
static int lex_string(reader *r, const char **out, size_t *len)
{
	const unsigned char *s = ++r->p, *p = s, *end = r->end;
	int escaped = 0;
	for (;;) {
		unsigned c;
		/* the common run: printable ASCII */
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p >= end)
			return fail(r, p, "premature end of input in a string"), -1;
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(r, p, "control character in a string (escape it)"), -1;
		if (c >= 0x80) {
			size_t n = utf8_len(p, end);
			if (!n)
				return fail(r, p, "invalid UTF-8 in a string"), -1;
			p += n;
			continue;
		}
		/* a backslash */
		escaped = 1;
		if (p + 1 >= end)
			return fail(r, p, "premature end of input in a string"), -1;
		c = p[1];
		if (c == 'u') {
			uint32_t cp, lo;
			if (hex4(p + 2, end, &cp) < 0)
				return fail(r, p, "invalid \\u escape"), -1;
			if (cp == 0)
				return fail(r, p, "\\u0000 is not allowed"), -1;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return fail(r, p, "invalid Unicode escape (a lone low surrogate)"), -1;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    hex4(p + 8, end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return fail(r, p,
						    "invalid Unicode escape (a high surrogate alone)"),
					       -1;
				p += 12;
			} else {
				p += 6;
			}
			continue;
		}
		if (!strchr("\"\\/bfnrt", (int)c) || c == 0)
			return fail(r, p, "invalid escape in a string"), -1;
		p += 2;
	}
	r->p = p + 1;
	if (!escaped) {
		*out = (const char *)s;
		*len = (size_t)(p - s);
		return 0;
	}
	if (decode(r, s, p, len) < 0)
		return fail(r, s, "out of memory"), -1;
	*out = r->scratch;
	return 0;
}

static int is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

static json_t *lex_number(reader *r)
{
	const unsigned char *s = r->p, *p = s, *end = r->end;
	int neg = 0, real = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !is_digit(*p))
		return fail(r, s, "invalid number"), NULL;
	if (*p == '0') {
		p++;
		if (p < end && is_digit(*p))
			return fail(r, s, "invalid number (a leading zero)"), NULL;
	} else {
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (p >= end || !is_digit(*p))
			return fail(r, s, "invalid number"), NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			return fail(r, s, "invalid number"), NULL;
		while (p < end && is_digit(*p))
			p++;
	}
	r->p = p;
	if (!real) {
		const unsigned char *d = s + neg;
		uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		for (; d < p; d++) {
			unsigned k = *d - '0';
			if (v > (limit - k) / 10)
				return fail(r, s, neg ? "too big negative integer" : "too big integer"),
				       NULL;
			v = v * 10 + k;
		}
		if (neg)
			return json_integer(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v);
		return json_integer((json_int_t)v);
	}
	{
		char small[64], *text = small, *stop;
		size_t n = (size_t)(p - s);
		double d;
		json_t *out;
		if (n >= sizeof small && !(text = malloc(n + 1)))
			return fail(r, s, "out of memory"), NULL;
		memcpy(text, s, n);
		text[n] = '\0';
		errno = 0;
		d = strtod(text, &stop);
		if (text != small)
			free(text);
		if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
			return fail(r, s, "real number overflow"), NULL;
		out = json_real(d);
		if (!out)
			fail(r, s, "out of memory");
		return out;
	}
}

static json_t *parse_value(reader *r);

static json_t *parse_object(reader *r)
{
	json_t *o = json_object();
	r->p++;
	if (!o)
		return fail(r, r->p, "out of memory"), NULL;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return o;
	}
	for (;;) {
		const unsigned char *at;
		const char *key;
		char *owned = NULL;
		size_t klen;
		json_t *v;
		skip_ws(r);
		at = r->p;
		if (r->p >= r->end || *r->p != '"')
			goto bad_key;
		if (lex_string(r, &key, &klen) < 0)
			goto out;
		if (json_object_getn(o, key, klen)) {
			fail(r, at, "duplicate object key");
			goto out;
		}
		if (key == r->scratch) { /* the value's strings reuse the scratch */
			owned = malloc(klen ? klen : 1);
			if (!owned) {
				fail(r, at, "out of memory");
				goto out;
			}
			memcpy(owned, key, klen);
			key = owned;
		}
		skip_ws(r);
		if (r->p >= r->end || *r->p != ':') {
			free(owned);
			fail(r, r->p, "':' expected");
			goto out;
		}
		r->p++;
		v = parse_value(r);
		if (!v || json_object_setn_new_nocheck(o, key, klen, v) < 0) {
			free(owned);
			if (v)
				fail(r, at, "out of memory");
			goto out;
		}
		free(owned);
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == '}') {
			r->p++;
			return o;
		}
		fail(r, r->p, "'}' or ',' expected");
		goto out;
	}
bad_key:
	fail(r, r->p, "string or '}' expected");
out:
	json_decref(o);
	return NULL;
}

static json_t *parse_array(reader *r)
{
	json_t *a = json_array();
	r->p++;
	if (!a)
		return fail(r, r->p, "out of memory"), NULL;
	skip_ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return a;
	}
	for (;;) {
		json_t *v = parse_value(r);
		if (!v || json_array_append_new(a, v) < 0) {
			if (v)
				fail(r, r->p, "out of memory");
			json_decref(a);
			return NULL;
		}
		skip_ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == ']') {
			r->p++;
			return a;
		}
		fail(r, r->p, "']' or ',' expected");
		json_decref(a);
		return NULL;
	}
}

static json_t *literal(reader *r, const char *word, json_t *v)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return fail(r, r->p, "invalid token"), NULL;
	r->p += n;
	return v;
}

/* Nesting is counted per value, containers and leaves alike (as jansson counts it). */
static json_t *parse_value(reader *r)
{
	json_t *v = NULL;
	const char *s;
	size_t n;
	skip_ws(r);
	if (r->p >= r->end)
		return fail(r, r->p, "premature end of input"), NULL;
	if (++r->depth > KZ_JSON_MAX_DEPTH)
		return fail(r, r->p, "maximum nesting depth reached"), NULL;
	switch (*r->p) {
	case '{': v = parse_object(r); break;
	case '[': v = parse_array(r); break;
	case '"':
		if (lex_string(r, &s, &n) == 0 && !(v = json_stringn_nocheck(s, n)))
			fail(r, r->p, "out of memory");
		break;
	case 't': v = literal(r, "true", json_true()); break;
	case 'f': v = literal(r, "false", json_false()); break;
	case 'n': v = literal(r, "null", json_null()); break;
	default:
		if (*r->p == '-' || is_digit(*r->p))
			v = lex_number(r);
		else
			fail(r, r->p, "invalid token");
	}
	r->depth--;
	return v;
}

json_t *kz_json_loadb(const char *buf, size_t len, int flags, kz_json_error *err)
{
	reader r;
	json_t *v = NULL;
	memset(&r, 0, sizeof r);
	r.start = r.p = (const unsigned char *)(buf ? buf : "");
	r.end = r.start + (buf ? len : 0);
	r.err = err;
	skip_ws(&r);
	if (!(flags & KZ_JSON_ANY) && (r.p >= r.end || (*r.p != '{' && *r.p != '[')))
		fail(&r, r.p, "'[' or '{' expected");
	else
		v = parse_value(&r);
	if (v) {
		skip_ws(&r);
		if (r.p < r.end) {
			fail(&r, r.p, "end of input expected");
			json_decref(v);
			v = NULL;
		}
	}
	free(r.scratch);
	return v;
}

json_t *kz_json_loads(const char *s, int flags, kz_json_error *err)
{
	return s ? kz_json_loadb(s, strlen(s), flags, err) : NULL;
}

/* ---- writing ---- */

int kz_json_dump_str(const char *s, size_t n, kz_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;
	kz_buf_addc(out, '"');
	while (p < end) {
		char esc[7];
		const char *e = esc;
		size_t elen = 2;
		run = p;
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			kz_buf_add(out, run, (size_t)(p - run));
		if (p >= end)
			break;
		switch (*p) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			elen = 6;
		}
		kz_buf_add(out, e, elen);
		p++;
	}
	return kz_buf_addc(out, '"');
}

/* jansson's form of a real: %.17g, ".0" when it would read as an integer, and the
 * exponent without '+' or leading zeros ("1e20", "1e-5"). */
static int dump_real(double d, kz_buf *out)
{
	char t[64], *e;
	int n;
	if (isnan(d) || isinf(d))
		return -1;
	n = snprintf(t, sizeof t - 3, "%.17g", d);
	if (n < 0 || (size_t)n >= sizeof t - 3)
		return -1;
	if (!strchr(t, '.') && !strchr(t, 'e')) {
		memcpy(t + n, ".0", 3);
		n += 2;
	}
	e = strchr(t, 'e');
	if (e) {
		char *start = e + 1, *digits = e + 2;
		if (*start == '-')
			start++;
		while (*digits == '0')
			digits++;
		if (digits != start) {
			memmove(start, digits, strlen(digits) + 1);
			n = (int)strlen(t);
		}
	}
	return kz_buf_add(out, t, (size_t)n);
}

static int dump(const json_t *v, kz_buf *out, int depth)
{
	const char *key;
	size_t klen, i;
	json_t *x;
	char num[32];
	int first = 1, n;
	if (depth > KZ_JSON_MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		kz_buf_addc(out, '{');
		json_object_keylen_foreach((json_t *)v, key, klen, x)
		{
			if (!first)
				kz_buf_addc(out, ',');
			first = 0;
			kz_json_dump_str(key, klen, out);
			kz_buf_addc(out, ':');
			if (dump(x, out, depth + 1) < 0)
				return -1;
		}
		return kz_buf_addc(out, '}');
	case JSON_ARRAY:
		kz_buf_addc(out, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				kz_buf_addc(out, ',');
			if (dump(json_array_get(v, i), out, depth + 1) < 0)
				return -1;
		}
		return kz_buf_addc(out, ']');
	case JSON_STRING:
		return kz_json_dump_str(json_string_value(v), json_string_length(v), out);
	case JSON_INTEGER:
		n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return kz_buf_add(out, num, (size_t)n);
	case JSON_REAL:
		return dump_real(json_real_value(v), out);
	case JSON_TRUE: return kz_buf_adds(out, "true");
	case JSON_FALSE: return kz_buf_adds(out, "false");
	case JSON_NULL: return kz_buf_adds(out, "null");
	}
	return -1;
}

int kz_json_dump(const json_t *v, kz_buf *out)
{
	size_t start = out->len;
	if (!v || dump(v, out, 1) < 0 || out->overflow) {
		out->len = start;
		out->data[start] = '\0';
		return -1;
	}
	return 0;
}

char *kz_json_dumps(const json_t *v)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	if (kz_json_dump(v, &b) < 0) {
		kz_buf_release(&b);
		return NULL;
	}
	return kz_buf_detach(&b, NULL);
}
