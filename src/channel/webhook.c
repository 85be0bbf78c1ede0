/* webhook.c — a JSON POST through libcurl; the answer's status decides whether to retry. */
#include "channel/webhook.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

/* The endpoint's answer is not needed: read and drop it. */
static size_t drop(char *buf, size_t size, size_t nmemb, void *cls)
{
	(void)buf;
	(void)cls;
	return size * nmemb;
}

int kz_webhook_post(const char *url, const char *body, size_t len, int timeout_s, kz_err *err)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hdr = NULL;
	long code = 0;
	CURLcode rc;
	if (!curl) {
		kz_err_set(err, 500, "internal", NULL, "cannot start an HTTP client");
		return KZ_SEND_TEMP;
	}
	hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
	hdr = curl_slist_append(hdr, "User-Agent: Kizuna-Webhook/1");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)(timeout_s < 5 ? timeout_s : 5));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, drop);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		kz_err_set(err, 502, "webhook_unreachable", NULL, "%s", curl_easy_strerror(rc));
		return KZ_SEND_TEMP;
	}
	if (code >= 200 && code < 300)
		return 0;
	kz_err_set(err, 502, "webhook_refused", NULL, "the endpoint answered HTTP %ld", code);
	return code == 408 || code == 429 || code >= 500 ? KZ_SEND_TEMP : KZ_SEND_PERM;
}
