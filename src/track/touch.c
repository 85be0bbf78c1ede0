/* touch.c — classifying a visit's source/medium/campaign (UTM tags, click ids, referrers). */
#include "track/touch.h"

#include <stdlib.h>
#include <string.h>

#include "track/event.h"

#include "base/banned.h"

typedef struct known_host {
	const char
		*label; /* matched as a whole leading label run: "google." matches google.co.jp */
	const char *source;
	const char *medium;
} known_host;

static const known_host known_hosts[] = {
	{"google.", "google", "organic"},
	{"bing.com", "bing", "organic"},
	{"search.yahoo.", "yahoo", "organic"},
	{"yahoo.co.jp", "yahoo", "organic"},
	{"duckduckgo.com", "duckduckgo", "organic"},
	{"baidu.com", "baidu", "organic"},
	{"yandex.", "yandex", "organic"},
	{"naver.com", "naver", "organic"},
	{"ecosia.org", "ecosia", "organic"},
	{"facebook.com", "facebook", "social"},
	{"t.co", "twitter", "social"},
	{"twitter.com", "twitter", "social"},
	{"x.com", "twitter", "social"},
	{"linkedin.com", "linkedin", "social"},
	{"lnkd.in", "linkedin", "social"},
	{"instagram.com", "instagram", "social"},
	{"youtube.com", "youtube", "social"},
	{"line.me", "line", "social"},
	{"pinterest.com", "pinterest", "social"},
	{"reddit.com", "reddit", "social"},
	{"note.com", "note", "social"},
};

/* host is exactly the label, starts with it (for "google."), or ends with "." + label. */
static int host_is(const char *host, const char *label)
{
	size_t hl = strlen(host), ll = strlen(label);
	if (label[ll - 1] == '.') {
		const char *p = strstr(host, label);
		return p && (p == host || p[-1] == '.');
	}
	return (hl == ll && !strcmp(host, label)) ||
	       (hl > ll && host[hl - ll - 1] == '.' && !strcmp(host + hl - ll, label));
}

static const known_host *classify(const char *host)
{
	for (size_t i = 0; i < sizeof known_hosts / sizeof known_hosts[0]; i++)
		if (host_is(host, known_hosts[i].label))
			return &known_hosts[i];
	return NULL;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v && *v ? json_string(v) : json_null());
}

json_t *kz_track_touch(const json_t *context, int *direct)
{
	static const struct {
		const char *param, *source, *medium;
	} click_ids[] = {
		{"gclid", "google", "cpc"},
		{"msclkid", "bing", "cpc"},
		{"yclid", "yahoo", "cpc"},
		{"fbclid", "facebook", "social"},
	};
	const char *url = json_string_value(json_object_get(context, "url"));
	const char *ref = json_string_value(json_object_get(context, "referrer"));
	const char *utm_source = json_string_value(json_object_get(context, "utm_source"));
	char *page_host = kz_track_url_host(url), *ref_host = kz_track_url_host(ref);
	json_t *t = json_object();
	const char *source = NULL, *medium = NULL;
	/* A referrer from the site itself is navigation, not a source. */
	if (ref_host && page_host && !strcmp(ref_host, page_host)) {
		free(ref_host);
		ref_host = NULL;
	}
	set_str(t, "referrer_domain", ref_host);
	set_str(t, "landing_url", url);
	set_str(t, "campaign", json_string_value(json_object_get(context, "utm_campaign")));
	*direct = 0;
	if (utm_source && *utm_source) {
		const char *m = json_string_value(json_object_get(context, "utm_medium"));
		set_str(t, "source", utm_source);
		set_str(t, "medium", m && *m ? m : "(not set)");
		goto out;
	}
	for (size_t i = 0; i < sizeof click_ids / sizeof click_ids[0]; i++) {
		char *v = kz_track_url_param(url, click_ids[i].param);
		if (v) {
			free(v);
			source = click_ids[i].source;
			medium = click_ids[i].medium;
			break;
		}
	}
	if (!source && ref_host) {
		const known_host *k = classify(ref_host);
		source = k ? k->source : ref_host;
		medium = k ? k->medium : "referral";
	}
	if (!source) {
		source = "(direct)";
		medium = "(none)";
		*direct = 1;
	}
	set_str(t, "source", source);
	set_str(t, "medium", medium);
out:
	free(page_host);
	free(ref_host);
	return t;
}
