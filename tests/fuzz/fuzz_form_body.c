/* fuzz_form_body.c — libFuzzer target: form submissions (urlencoded, multipart, JSON) through
 * parsing, validation against a form, and re-rendering the form with the errors. The first
 * byte picks the content type. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "capture/body.h"
#include "capture/form.h"
#include "capture/render.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char form_json[] =
	"{\"name\":\"f\",\"fields\":["
	"{\"name\":\"email\",\"type\":\"email\",\"required\":true,\"label\":{\"ja\":\"メール\"},"
	"\"maps_to\":\"email\"},"
	"{\"name\":\"phone\",\"type\":\"tel\",\"label\":{\"ja\":\"電話\"},\"maps_to\":\"phone\"},"
	"{\"name\":\"seats\",\"type\":\"number\",\"label\":{\"en\":\"Seats\"},\"min\":1},"
	"{\"name\":\"day\",\"type\":\"date\",\"label\":{\"en\":\"Day\"}},"
	"{\"name\":\"msg\",\"type\":\"textarea\",\"label\":{\"en\":\"Message\"},\"maxlength\":50},"
	"{\"name\":\"plan\",\"type\":\"radio\",\"label\":{\"en\":\"Plan\"},"
	"\"options\":[{\"value\":\"a\"},{\"value\":\"b\"}]},"
	"{\"name\":\"t\",\"type\":\"checkboxes\",\"label\":{\"en\":\"T\"},"
	"\"options\":[{\"value\":\"x\"}]},"
	"{\"name\":\"utm_source\",\"type\":\"hidden\"},"
	"{\"name\":\"ok\",\"type\":\"consent\",\"required\":true,\"text\":{\"ja\":\"同意\"}}]}";

static json_t *the_form(void)
{
	static json_t *form;
	if (!form) {
		json_t *in = json_loads(form_json, 0, NULL);
		char *name = NULL;
		kz_err err;
		form = json_object();
		if (!in || kz_form_apply(form, &name, in, 1, NULL, &err) < 0) {
			fprintf(stderr, "fuzz_form_body: the built-in form is invalid: %s\n",
				err.message);
			abort();
		}
		json_object_set_new(form, "id", json_integer(1));
		free(name);
		json_decref(in);
	}
	return form;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {"application/x-www-form-urlencoded",
					    "multipart/form-data; boundary=B", "application/json",
					    "text/plain;charset=UTF-8"};
	json_t *form = the_form(), *values = NULL, *clean = NULL, *errors = NULL, *fields;
	kz_form_view v;
	kz_buf b;
	kz_err err;
	if (size == 0)
		return 0;
	if (kz_body_parse(types[data[0] % 4], (const char *)data + 1, size - 1, &values, &err) < 0) {
		if (values || err.status < 400 || err.status > 415)
			abort();
		return 0;
	}
	fields = kz_form_visible_fields(form, NULL);
	if (kz_form_check(fields, values, data[0] & 4 ? "ja" : "en", &clean, &errors) == 0) {
		json_t *in = kz_form_contact_input(fields, clean, NULL);
		json_t *consent = kz_form_consent(fields, clean, "ja");
		if (!json_is_string(json_object_get(in, "email")) || !consent)
			abort(); /* a valid submission always names the lead and records consent */
		json_decref(consent);
		json_decref(in);
	}
	memset(&v, 0, sizeof v);
	v.form = form;
	v.fields = fields;
	v.lang = "ja";
	v.action = "https://m.example.com/f/1";
	v.token = "1.a";
	v.values = values;
	v.errors = errors;
	kz_buf_init(&b, 0);
	kz_render_form(&b, &v);
	/* whatever was sent, it never becomes markup */
	if (strstr(b.data, "<script") || strstr(b.data, "<img"))
		abort();
	kz_buf_release(&b);
	json_decref(fields);
	json_decref(clean);
	json_decref(errors);
	json_decref(values);
	return 0;
}
