/* asset.c — upload checks for gated assets: declared type, magic bytes, size; base64 storage. */
#include "capture/asset.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/cleanse.h"

#include "base/banned.h"

size_t kz_asset_max(void)
{
	const char *v = getenv("KIZUNA_MAX_ASSET");
	char *end;
	unsigned long long n;
	if (!v || !*v)
		return KZ_ASSET_DEFAULT_MAX;
	n = strtoull(v, &end, 10);
	return (*end || n == 0) ? KZ_ASSET_DEFAULT_MAX : (size_t)n;
}

typedef struct kind {
	const char *mime, *ext;
	const char *magic;
	size_t magic_len, offset;
} kind;

static const kind kinds[] = {
	{"application/pdf", "pdf", "%PDF-", 5, 0},
	{"image/png", "png", "\x89PNG\r\n\x1a\n", 8, 0},
	{"image/jpeg", "jpg", "\xff\xd8\xff", 3, 0},
	{"image/gif", "gif", "GIF8", 4, 0},
	{"image/webp", "webp", "WEBP", 4, 8},
	{"application/zip", "zip", "PK\x03\x04", 4, 0},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx",
	 "PK\x03\x04", 4, 0},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "PK\x03\x04",
	 4, 0},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx",
	 "PK\x03\x04", 4, 0},
	{"video/mp4", "mp4", "ftyp", 4, 4},
	{"text/plain", "txt", NULL, 0, 0},
	{"text/csv", "csv", NULL, 0, 0},
};

static const kind *kind_of(const char *mime)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcasecmp(kinds[i].mime, mime))
			return &kinds[i];
	return NULL;
}

int kz_asset_check(const char *content_type, const void *data, size_t len, char *mime,
		   size_t mimelen, kz_err *err)
{
	size_t n = 0;
	const kind *k;
	const char *ct = content_type ? content_type : "";
	while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < mimelen) {
		mime[n] = ct[n];
		n++;
	}
	mime[n] = '\0';
	k = kind_of(mime);
	if (!k)
		return kz_err_set(err, 415, "unsupported_media_type", "Content-Type",
				  "assets may be PDF, PNG, JPEG, GIF, WebP, ZIP, Word/Excel/"
				  "PowerPoint (OOXML), MP4, plain text or CSV; send the file's type "
				  "as Content-Type");
	if (len == 0)
		return kz_err_set(err, 422, "invalid_field", "body", "the file is empty");
	if (len > kz_asset_max())
		return kz_err_set(err, 413, "too_large", "body",
				  "the file is larger than the %zu-byte limit (KIZUNA_MAX_ASSET)",
				  kz_asset_max());
	if (k->magic && (len < k->offset + k->magic_len ||
			 memcmp((const char *)data + k->offset, k->magic, k->magic_len)))
		return kz_err_set(err, 415, "content_mismatch", "Content-Type",
				  "the file's bytes are not a %s file; check the file and its type",
				  k->ext);
	if (!k->magic && !kz_utf8_valid(data, len))
		return kz_err_set(err, 415, "content_mismatch", "Content-Type",
				  "text assets must be UTF-8");
	memcpy(mime, k->mime, strlen(k->mime) + 1 < mimelen ? strlen(k->mime) + 1 : mimelen);
	mime[mimelen - 1] = '\0';
	return 0;
}

char *kz_asset_safe_filename(const char *name, const char *mime)
{
	const kind *k = kind_of(mime ? mime : "");
	size_t n = name ? strlen(name) : 0, j = 0;
	char *out = malloc(n + 16);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n && j < 120; i++) {
		char c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || (c == '.' && j > 0))
			out[j++] = c;
	}
	out[j] = '\0';
	if (j == 0 || !strchr(out, '.')) {
		const char *ext = k ? k->ext : "bin";
		if (j == 0) {
			memcpy(out, "download", 9);
			j = 8;
		}
		out[j++] = '.';
		memcpy(out + j, ext, strlen(ext) + 1);
	}
	return out;
}

char *kz_asset_encode(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(n);
	if (!out)
		return NULL;
	sodium_bin2base64(out, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int kz_asset_decode(const char *b64, unsigned char **out, size_t *outlen)
{
	size_t n = strlen(b64), cap = n / 4 * 3 + 3;
	*out = malloc(cap ? cap : 1);
	if (!*out)
		return -1;
	if (sodium_base642bin(*out, cap, b64, n, NULL, outlen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}
