/* body.c — decoding form posts: application/x-www-form-urlencoded, multipart/form-data and
 * JSON bodies into one shape, so validation never cares how the browser sent them. */
#include "capture/body.h"
#include "base/json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/cleanse.h"

#include "base/banned.h"

/* Add name=value; a repeated name turns into an array. */
static int add_value(json_t *out, const char *name, const char *val, size_t vlen, size_t *count,
		     kz_err *err)
{
	json_t *prev, *v;
	if (++*count > KZ_BODY_MAX_PARAMS)
		return kz_err_set(err, 413, "too_many_values", NULL,
				  "a submission holds at most %d values", KZ_BODY_MAX_PARAMS);
	if (vlen > KZ_BODY_MAX_VALUE)
		return kz_err_set(err, 413, "value_too_large", name,
				  "a value may be at most %d bytes", KZ_BODY_MAX_VALUE);
	if (!kz_utf8_valid(name, strlen(name)) || !kz_utf8_valid(val, vlen))
		return kz_err_set(err, 400, "invalid_encoding", NULL,
				  "the submission is not valid UTF-8; send the form as UTF-8");
	v = json_stringn(val, vlen);
	if (!v)
		return kz_err_set(err, 400, "invalid_encoding", name, "values may not contain NUL");
	prev = json_object_get(out, name);
	if (!prev)
		return json_object_set_new(out, name, v) == 0
			       ? 0
			       : kz_err_set(err, 400, "invalid_encoding", NULL, "bad field name");
	if (json_is_string(prev)) {
		json_t *arr = json_array();
		json_array_append(arr, prev);
		json_object_set_new(out, name, arr);
		prev = arr;
	}
	json_array_append_new(prev, v);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into b ('+' is a space). */
static int url_decode(kz_buf *b, const char *s, size_t n)
{
	kz_buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			kz_buf_addc(b, ' ');
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			kz_buf_addc(b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			kz_buf_addc(b, s[i]);
		}
	}
	return b->overflow ? -1 : 0;
}

static int parse_urlencoded(const char *data, size_t len, json_t *out, kz_err *err)
{
	kz_buf name, val;
	size_t pos = 0, count = 0;
	int rc = 0;
	kz_buf_init(&name, 4096);
	kz_buf_init(&val, KZ_BODY_MAX_VALUE + 1);
	while (pos < len && rc == 0) {
		const char *amp = memchr(data + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - data) : len;
		const char *eq = memchr(data + pos, '=', end - pos);
		size_t nend = eq ? (size_t)(eq - data) : end;
		if (end > pos) {
			if (url_decode(&name, data + pos, nend - pos) < 0 ||
			    url_decode(&val, eq ? eq + 1 : data + end, eq ? end - nend - 1 : 0) < 0)
				rc = kz_err_set(err, 413, "value_too_large", NULL,
						"a value may be at most %d bytes", KZ_BODY_MAX_VALUE);
			else if (name.len && strlen(name.data) == name.len)
				rc = add_value(out, name.data, val.data, val.len, &count, err);
		}
		pos = end + 1;
	}
	kz_buf_release(&name);
	kz_buf_release(&val);
	return rc;
}

/* The value of parameter `key` in a header like `form-data; name="x"; filename="y"`, into
 * out (quotes removed). Returns 1 when found. */
static int header_param(const char *h, size_t hlen, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i + klen + 1 <= hlen; i++) {
		size_t j, n = 0;
		if ((i > 0 && h[i - 1] != ' ' && h[i - 1] != ';') || strncasecmp(h + i, key, klen) ||
		    h[i + klen] != '=')
			continue;
		j = i + klen + 1;
		if (j < hlen && h[j] == '"') {
			j++;
			while (j < hlen && h[j] != '"' && n + 1 < outlen)
				out[n++] = h[j++];
		} else {
			while (j < hlen && h[j] != ';' && h[j] != ' ' && n + 1 < outlen)
				out[n++] = h[j++];
		}
		out[n] = '\0';
		return 1;
	}
	return 0;
}

static const char *find_mem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0 || hlen < nlen)
		return NULL;
	for (size_t i = 0; i + nlen <= hlen; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, nlen))
			return hay + i;
	return NULL;
}

/* One part: headers up to a blank line, then the value. */
static int multipart_part(const char *p, size_t n, json_t *out, size_t *count, kz_err *err)
{
	const char *sep = find_mem(p, n, "\r\n\r\n", 4), *line = p;
	char name[256] = "", filename[256];
	int has_file = 0;
	if (!sep)
		return kz_err_set(err, 400, "invalid_body", NULL,
				  "a multipart part has no blank line after its headers");
	while (line < sep) {
		const char *eol = find_mem(line, (size_t)(sep + 2 - line), "\r\n", 2);
		size_t ll = eol ? (size_t)(eol - line) : (size_t)(sep - line);
		if (ll > 20 && !strncasecmp(line, "Content-Disposition:", 20)) {
			header_param(line + 20, ll - 20, "name", name, sizeof name);
			has_file = header_param(line + 20, ll - 20, "filename", filename,
						sizeof filename);
		}
		line += ll + 2;
	}
	if (has_file)
		return kz_err_set(err, 415, "unsupported_media_type", name,
				  "forms take no file uploads; remove the file field");
	if (!name[0])
		return kz_err_set(err, 400, "invalid_body", NULL, "a multipart part has no name");
	return add_value(out, name, sep + 4, n - (size_t)(sep + 4 - p), count, err);
}

static int parse_multipart(const char *ctype, const char *data, size_t len, json_t *out,
			   kz_err *err)
{
	char boundary[80], delim[90];
	const char *pos, *next;
	size_t dlen, count = 0;
	if (!header_param(ctype, strlen(ctype), "boundary", boundary, sizeof boundary) ||
	    !boundary[0])
		return kz_err_set(err, 400, "invalid_body", NULL,
				  "multipart/form-data needs a boundary parameter");
	dlen = (size_t)snprintf(delim, sizeof delim, "--%s", boundary);
	pos = find_mem(data, len, delim, dlen);
	if (!pos)
		return kz_err_set(err, 400, "invalid_body", NULL, "no multipart boundary in the body");
	for (;;) {
		size_t rest;
		pos += dlen;
		rest = len - (size_t)(pos - data);
		if (rest >= 2 && pos[0] == '-' && pos[1] == '-')
			return 0; /* the closing delimiter */
		if (rest < 2 || pos[0] != '\r' || pos[1] != '\n')
			return kz_err_set(err, 400, "invalid_body", NULL,
					  "a multipart boundary is not followed by a line break");
		pos += 2;
		rest -= 2;
		next = find_mem(pos, rest, delim, dlen);
		if (!next || next - pos < 2)
			return kz_err_set(err, 400, "invalid_body", NULL,
					  "the multipart body is not closed by its boundary");
		/* the part ends with the CRLF that precedes the next delimiter */
		if (multipart_part(pos, (size_t)(next - pos - 2), out, &count, err) < 0)
			return -1;
		pos = next;
	}
}

static int parse_json(const char *data, size_t len, json_t *out, kz_err *err)
{
	json_t *in = kz_json_loadb(data, len, 0, NULL), *v;
	const char *k;
	size_t count = 0;
	int rc = 0;
	if (!json_is_object(in)) {
		json_decref(in);
		return kz_err_set(err, 400, "invalid_json", NULL,
				  "the submission must be a JSON object of field names to values");
	}
	json_object_foreach(in, k, v) {
		char num[64];
		if (rc < 0)
			break;
		if (json_is_string(v)) {
			rc = add_value(out, k, json_string_value(v), json_string_length(v), &count, err);
		} else if (json_is_integer(v) || json_is_real(v)) {
			int n = json_is_integer(v)
					? snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v))
					: snprintf(num, sizeof num, "%.17g", json_real_value(v));
			rc = add_value(out, k, num, (size_t)n, &count, err);
		} else if (json_is_boolean(v)) {
			rc = json_is_true(v) ? add_value(out, k, "on", 2, &count, err) : 0;
		} else if (json_is_array(v)) {
			size_t i;
			json_t *e;
			json_array_foreach(v, i, e) {
				if (!json_is_string(e)) {
					rc = kz_err_set(err, 400, "invalid_json", k,
							"lists may hold only strings");
					break;
				}
				rc = add_value(out, k, json_string_value(e), json_string_length(e),
					       &count, err);
				if (rc < 0)
					break;
			}
			if (json_array_size(v) == 0 && !json_object_get(out, k))
				json_object_set_new(out, k, json_array());
		} else if (!json_is_null(v)) {
			rc = kz_err_set(err, 400, "invalid_json", k,
					"values must be strings, numbers, booleans or lists of strings");
		}
	}
	json_decref(in);
	return rc;
}

int kz_body_parse(const char *content_type, const char *data, size_t len, json_t **out,
		  kz_err *err)
{
	char mime[64];
	size_t n = 0;
	int rc;
	const char *ct = content_type ? content_type : "application/x-www-form-urlencoded";
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < sizeof mime) {
		mime[n] = ct[n];
		n++;
	}
	mime[n] = '\0';
	*out = json_object();
	if (!strcasecmp(mime, "application/x-www-form-urlencoded") || !strcasecmp(mime, "text/plain"))
		rc = parse_urlencoded(data, len, *out, err);
	else if (!strcasecmp(mime, "multipart/form-data"))
		rc = parse_multipart(ct, data, len, *out, err);
	else if (!strcasecmp(mime, "application/json"))
		rc = parse_json(data, len, *out, err);
	else
		rc = kz_err_set(err, 415, "unsupported_media_type", "Content-Type",
				"send the form as application/x-www-form-urlencoded, "
				"multipart/form-data or application/json");
	if (rc < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

const char *kz_body_str(const json_t *values, const char *name)
{
	const json_t *v = json_object_get(values, name);
	if (json_is_array(v))
		v = json_array_get(v, 0);
	return json_string_value(v);
}
