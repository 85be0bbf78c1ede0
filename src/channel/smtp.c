/* smtp.c — the SMTP transport over libcurl: one easy handle per sender keeps its connection
 * alive across messages; server answers map to accepted / temporary / permanent. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/transport.h"

#include "base/banned.h"

typedef struct smtp {
	kz_transport base;
	CURL *curl;
	char *url;
	const char *msg;
	size_t len, pos;
} smtp;

static size_t reader(char *buf, size_t size, size_t nmemb, void *cls)
{
	smtp *s = cls;
	size_t room = size * nmemb, n = s->len - s->pos;
	if (n > room)
		n = room;
	memcpy(buf, s->msg + s->pos, n);
	s->pos += n;
	return n;
}

static int smtp_send(kz_transport *t, const char *from, const char *rcpt, const char *msg,
		     size_t len, kz_err *err)
{
	smtp *s = (smtp *)t;
	struct curl_slist *rcpts = NULL;
	char mailfrom[400];
	long code = 0;
	CURLcode rc;
	s->msg = msg;
	s->len = len;
	s->pos = 0;
	snprintf(mailfrom, sizeof mailfrom, "<%s>", from);
	rcpts = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, mailfrom);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(s->curl);
	curl_slist_free_all(rcpts);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK)
		return 0;
	if (code >= 500 && code < 600) {
		kz_err_set(err, 502, "smtp_permanent", "", "SMTP %ld: %s", code,
			   curl_easy_strerror(rc));
		return KZ_SEND_PERM;
	}
	kz_err_set(err, 503, "smtp_temporary", "", "SMTP %s%ld: %s", code ? "" : "no answer ",
		   code, curl_easy_strerror(rc));
	return KZ_SEND_TEMP;
}

static void smtp_free(kz_transport *t)
{
	smtp *s = (smtp *)t;
	curl_easy_cleanup(s->curl);
	free(s->url);
	free(s);
}

static const kz_transport_ops smtp_ops = {"smtp", smtp_send, smtp_free};

kz_transport *kz_smtp_new(const char *url, const char *tls, int timeout_s, kz_err *err)
{
	smtp *s;
	if (!url || (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8))) {
		kz_err_set(err, 422, "invalid_field", "smtp_url",
			   "the SMTP URL must look like smtp://user:pass@host:587 or smtps://...");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->base.ops = &smtp_ops;
	s->url = strdup(url);
	s->curl = curl_easy_init();
	if (!s->url || !s->curl) {
		smtp_free(&s->base);
		kz_err_set(err, 500, "internal", "", "out of memory");
		return NULL;
	}
	curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, reader);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, (long)(timeout_s > 0 ? timeout_s : 10));
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, (long)(timeout_s > 0 ? timeout_s * 6 : 60));
	if (!strncmp(url, "smtp://", 7)) {
		long mode = CURLUSESSL_TRY;
		if (tls && !strcmp(tls, "required"))
			mode = CURLUSESSL_ALL;
		else if (tls && !strcmp(tls, "none"))
			mode = CURLUSESSL_NONE;
		curl_easy_setopt(s->curl, CURLOPT_USE_SSL, mode);
	}
	return &s->base;
}
