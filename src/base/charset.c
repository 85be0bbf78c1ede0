/* charset.c — decodes uploaded text to UTF-8: validates UTF-8, converts CP932 with iconv. */
#include "base/charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanse.h"
#include "base/banned.h"

enum cs { CS_UNKNOWN, CS_DETECT, CS_UTF8, CS_CP932 };

static enum cs charset_kind(const char *name)
{
	static const char *const utf8[] = {"utf-8", "utf8"};
	/* Shift_JIS proper lacks the NEC/IBM extensions Excel writes; CP932 is a
	 * superset, so every SJIS spelling decodes as CP932. */
	static const char *const sjis[] = {"shift_jis", "shift-jis", "sjis", "cp932",
	                                   "windows-31j", "ms932"};
	size_t i;
	if (!name || !*name)
		return CS_DETECT;
	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		if (strcasecmp(name, utf8[i]) == 0)
			return CS_UTF8;
	for (i = 0; i < sizeof(sjis) / sizeof(sjis[0]); i++)
		if (strcasecmp(name, sjis[i]) == 0)
			return CS_CP932;
	return CS_UNKNOWN;
}

/* Copy valid UTF-8, minus a leading byte order mark. */
static int copy_utf8(const char *data, size_t len, char **out, size_t *out_len)
{
	char *p;
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	p = malloc(len + 1);
	if (!p)
		return -1;
	if (len)
		memcpy(p, data, len);
	p[len] = '\0';
	*out = p;
	*out_len = len;
	return 0;
}

/* Run iconv over the whole input, doubling the output buffer on E2BIG. */
static int convert(iconv_t cd, const char *data, size_t len, char **out, size_t *out_len)
{
	size_t cap = len + len / 2 + 16; /* CP932 -> UTF-8 grows at most 3x */
	char *buf = malloc(cap);
	char *in = (char *)data; /* iconv's prototype is not const-correct */
	char *o = buf;
	size_t inleft = len, oleft = cap - 1; /* keep a byte for the NUL */
	int flushed = 0;
	if (!buf)
		return -1;
	for (;;) {
		size_t r = flushed ? iconv(cd, NULL, NULL, &o, &oleft)
		                   : iconv(cd, &in, &inleft, &o, &oleft);
		size_t used;
		char *nb;
		if (r != (size_t)-1) {
			if (flushed)
				break;
			flushed = 1; /* input done; now emit any pending shift state */
			continue;
		}
		if (errno != E2BIG || cap > ((size_t)-1) / 2) {
			free(buf); /* EILSEQ or EINVAL: bytes that are not CP932 */
			return -1;
		}
		used = (size_t)(o - buf);
		nb = realloc(buf, cap * 2);
		if (!nb) {
			free(buf);
			return -1;
		}
		buf = nb;
		cap *= 2;
		o = buf + used;
		oleft = cap - 1 - used;
	}
	*o = '\0';
	*out = buf;
	*out_len = (size_t)(o - buf);
	return 0;
}

int kz_charset_to_utf8(const char *data, size_t len, const char *charset, char **out,
                       size_t *out_len)
{
	enum cs kind = charset_kind(charset);
	size_t dummy;
	iconv_t cd;
	int rc;
	*out = NULL;
	if (!out_len)
		out_len = &dummy;
	*out_len = 0;
	if (kind == CS_UNKNOWN)
		return -2;
	if (!data && len)
		return -1;
	if (!data)
		data = "";
	if (kind == CS_DETECT)
		kind = kz_utf8_valid(data, len) ? CS_UTF8 : CS_CP932;
	if (kind == CS_UTF8)
		return kz_utf8_valid(data, len) ? copy_utf8(data, len, out, out_len) : -1;
	cd = iconv_open("UTF-8", "CP932");
	if (cd == (iconv_t)-1)
		return -2; /* this libc lacks the converter */
	rc = convert(cd, data, len, out, out_len);
	iconv_close(cd);
	return rc;
}
