/* abtest.c — landing-page A/B tests: weights split visitors by a hash of their id (sticky
 * without storing anything per visitor), and a two-proportion z-test names a winner once
 * every variant has enough visits. */
#include "capture/abtest.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

static int valid_key(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int kz_ab_check(const json_t *variants, kz_err *err)
{
	static const char *const keys[] = {"key", "weight", "title", "description", "blocks", "html",
					   NULL};
	size_t i;
	json_t *v;
	long long total = 0;
	char path[64];
	if (!json_is_array(variants) || json_array_size(variants) > KZ_AB_MAX_VARIANTS)
		return kz_err_set(err, 422, "invalid_field", "variants",
				  "variants is a list of at most %d variants (the page itself is "
				  "variant \"a\")", KZ_AB_MAX_VARIANTS);
	json_array_foreach(variants, i, v) {
		const char *key = json_string_value(json_object_get(v, "key")), *k;
		const json_t *w = json_object_get(v, "weight"), *x;
		snprintf(path, sizeof path, "variants[%zu]", i);
		if (!json_is_object(v))
			return kz_err_set(err, 422, "invalid_field", path, "a variant is an object");
		json_object_foreach((json_t *)v, k, x) {
			int ok = 0;
			for (int n = 0; keys[n]; n++)
				ok |= !strcmp(keys[n], k);
			if (!ok)
				return kz_err_set(err, 422, "unknown_field", path,
						  "a variant has no member \"%s\"", k);
		}
		if (!valid_key(key) || !strcmp(key, "a"))
			return kz_err_set(err, 422, "invalid_field", path,
					  "key is 1 to 40 of a-z, 0-9 and - (\"a\" is the page itself)");
		for (size_t n = 0; n < i; n++)
			if (!strcmp(key, json_string_value(json_object_get(
						 json_array_get(variants, n), "key"))))
				return kz_err_set(err, 422, "invalid_field", path,
						  "variant key \"%s\" appears twice", key);
		if (!json_is_integer(w) || json_integer_value(w) < 1 || json_integer_value(w) > 99)
			return kz_err_set(err, 422, "invalid_field", path,
					  "weight is the percent of visitors (1 to 99)");
		total += json_integer_value(w);
		if (json_object_get(v, "blocks") && json_object_get(v, "html"))
			return kz_err_set(err, 422, "invalid_field", path,
					  "a variant has blocks or html, not both");
		if ((x = json_object_get(v, "title")) &&
		    (!json_is_string(x) || !json_string_length(x) || json_string_length(x) > 200))
			return kz_err_set(err, 422, "invalid_field", path,
					  "title must be a text of 1 to 200 bytes");
	}
	if (total >= 100)
		return kz_err_set(err, 422, "invalid_field", "variants",
				  "the variants' weights add up to %lld%%; leave some for the page "
				  "itself (variant \"a\")", total);
	return 0;
}

static uint32_t fnv(const char *s, uint32_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

const char *kz_ab_assign(const json_t *variants, const char *vid, int64_t page_id)
{
	char id[32];
	uint32_t h;
	long long bucket, at = 0;
	size_t i;
	json_t *v;
	snprintf(id, sizeof id, ":%lld", (long long)page_id);
	h = fnv(id, fnv(vid ? vid : "", 2166136261u));
	bucket = (long long)(h % 100);
	json_array_foreach(variants, i, v) {
		at += json_integer_value(json_object_get(v, "weight"));
		if (bucket < at)
			return json_string_value(json_object_get(v, "key"));
	}
	return "a";
}

int kz_ab_known(const json_t *variants, const char *key)
{
	size_t i;
	json_t *v;
	if (!key)
		return 0;
	if (!strcmp(key, "a"))
		return 1;
	json_array_foreach(variants, i, v)
		if (!strcmp(key, json_string_value(json_object_get(v, "key"))))
			return 1;
	return 0;
}

json_t *kz_ab_page(const json_t *page, const char *key)
{
	size_t i;
	json_t *v, *out;
	if (!strcmp(key, "a"))
		return json_incref((json_t *)page);
	json_array_foreach(json_object_get(page, "variants"), i, v) {
		if (strcmp(key, json_string_value(json_object_get(v, "key"))))
			continue;
		out = json_copy((json_t *)page);
		if (json_object_get(v, "blocks") || json_object_get(v, "html")) {
			json_object_del(out, "blocks");
			json_object_del(out, "html");
		}
		json_object_update(out, v);
		json_object_del(out, "key");
		json_object_del(out, "weight");
		return out;
	}
	return json_incref((json_t *)page);
}

/* Two-proportion z statistic of a over b (pooled). */
static double zstat(double ca, double va, double cb, double vb)
{
	double p = (ca + cb) / (va + vb), se = sqrt(p * (1 - p) * (1 / va + 1 / vb));
	return se > 0 ? (ca / va - cb / vb) / se : 0;
}

json_t *kz_ab_report(const json_t *variants, const json_t *counts)
{
	json_t *rows = json_array(), *v, *out;
	size_t i, n = json_array_size(variants) + 1, best = 0, second = 0;
	long long weight_a = 100, minv = -1;
	double rate[KZ_AB_MAX_VARIANTS + 1], vis[KZ_AB_MAX_VARIANTS + 1], conv[KZ_AB_MAX_VARIANTS + 1];
	json_array_foreach(variants, i, v)
		weight_a -= json_integer_value(json_object_get(v, "weight"));
	for (i = 0; i < n; i++) {
		const json_t *var = i ? json_array_get(variants, i - 1) : NULL;
		const char *key = var ? json_string_value(json_object_get(var, "key")) : "a";
		const json_t *c = json_object_get(counts, key);
		long long vv = json_integer_value(json_object_get(c, "visits"));
		long long cc = json_integer_value(json_object_get(c, "conversions"));
		vis[i] = (double)vv;
		conv[i] = (double)cc;
		rate[i] = vv ? (double)cc / (double)vv : 0;
		if (minv < 0 || vv < minv)
			minv = vv;
		json_array_append_new(
			rows, json_pack("{s:s, s:I, s:I, s:I, s:o}", "key", key, "weight",
					(json_int_t)(var ? json_integer_value(json_object_get(var, "weight"))
							 : weight_a),
					"visits", (json_int_t)vv, "conversions", (json_int_t)cc,
					"conversion_rate", vv ? json_real(rate[i]) : json_null()));
	}
	for (i = 1; i < n; i++)
		if (rate[i] > rate[best])
			best = i;
	second = best == 0 ? 1 : 0;
	for (i = 0; i < n; i++)
		if (i != best && rate[i] > rate[second])
			second = i;
	out = json_pack("{s:o, s:n, s:n, s:s}", "variants", rows, "winner", "confidence", "status",
			"collecting");
	if (n < 2 || minv < KZ_AB_MIN_VISITS)
		return out;
	{
		double z = zstat(conv[best], vis[best], conv[second], vis[second]);
		double conf = 0.5 * erfc(-z / sqrt(2.0)); /* one-sided: best beats the runner-up */
		json_object_set_new(out, "confidence", json_real(round(conf * 1000) / 1000));
		if (z >= 1.96) {
			json_object_set_new(out, "winner",
					    json_incref(json_object_get(json_array_get(rows, best),
									"key")));
			json_object_set_new(out, "status", json_string("winner"));
		} else {
			json_object_set_new(out, "status", json_string("no_difference"));
		}
	}
	return out;
}
