/* test_capture.c — unit tests for lead capture: body parsing, form definitions, submission
 * validation, progressive profiling, tokens and the rendered markup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "capture/asset.h"
#include "capture/body.h"
#include "capture/form.h"
#include "capture/render.h"
#include "capture/token.h"
#include "base/banned.h"

static const char form_json[] =
	"{\"name\":\"資料請求\",\"fields\":["
	"{\"name\":\"email\",\"type\":\"email\",\"required\":true,"
	"\"label\":{\"ja\":\"メール\",\"en\":\"Email\"},\"maps_to\":\"email\"},"
	"{\"name\":\"company\",\"type\":\"text\",\"label\":{\"ja\":\"会社名\",\"en\":\"Company\"},"
	"\"maps_to\":\"company\",\"progressive\":true},"
	"{\"name\":\"phone\",\"type\":\"tel\",\"label\":{\"ja\":\"電話\"},\"maps_to\":\"phone\","
	"\"progressive\":true},"
	"{\"name\":\"seats\",\"type\":\"number\",\"label\":{\"en\":\"Seats\"},\"min\":1,\"max\":500},"
	"{\"name\":\"day\",\"type\":\"date\",\"label\":{\"en\":\"Day\"}},"
	"{\"name\":\"topics\",\"type\":\"checkboxes\",\"label\":{\"en\":\"Topics\"},"
	"\"options\":[{\"value\":\"ma\"},{\"value\":\"crm\"}]},"
	"{\"name\":\"consent\",\"type\":\"consent\",\"required\":true,"
	"\"text\":{\"ja\":\"同意します\",\"en\":\"I agree\"}}],"
	"\"settings\":{\"progressive_max\":1}}";

/* The form as stored: the definition applied, with an id. */
static json_t *load_form(void)
{
	json_t *in = json_loads(form_json, 0, NULL), *def = json_object();
	char *name = NULL;
	kz_err err;
	assert_non_null(in);
	assert_int_equal(kz_form_apply(def, &name, in, 1, NULL, &err), 0);
	json_object_set_new(def, "id", json_integer(7));
	json_object_set_new(def, "name", json_string(name));
	free(name);
	json_decref(in);
	return def;
}

static void body_urlencoded_decodes_and_repeats(void **state)
{
	json_t *v = NULL;
	kz_err err;
	const char b[] = "email=taro%40example.com&name=%E5%B1%B1%E7%94%B0+%E5%A4%AA%E9%83%8E"
			 "&t=ma&t=crm&empty=&bad=%zz";
	(void)state;
	assert_int_equal(kz_body_parse(NULL, b, strlen(b), &v, &err), 0);
	assert_string_equal(kz_body_str(v, "email"), "taro@example.com");
	assert_string_equal(kz_body_str(v, "name"), "山田 太郎");
	assert_int_equal(json_array_size(json_object_get(v, "t")), 2);
	assert_string_equal(kz_body_str(v, "empty"), "");
	assert_string_equal(kz_body_str(v, "bad"), "%zz");
	json_decref(v);
}

static void body_multipart_reads_text_parts_and_refuses_files(void **state)
{
	json_t *v = NULL;
	kz_err err;
	const char ct[] = "multipart/form-data; boundary=XyZ";
	const char b[] = "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n"
			 "a@example.com\r\n--XyZ\r\nContent-Disposition: form-data; name=\"msg\"\r\n"
			 "\r\nline1\r\nline2\r\n--XyZ--\r\n";
	const char f[] = "--XyZ\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"a.exe\""
			 "\r\n\r\nMZ\r\n--XyZ--\r\n";
	(void)state;
	assert_int_equal(kz_body_parse(ct, b, strlen(b), &v, &err), 0);
	assert_string_equal(kz_body_str(v, "email"), "a@example.com");
	assert_string_equal(kz_body_str(v, "msg"), "line1\r\nline2");
	json_decref(v);
	assert_int_equal(kz_body_parse(ct, f, strlen(f), &v, &err), -1);
	assert_int_equal(err.status, 415);
	assert_null(v);
	assert_int_equal(kz_body_parse(ct, "junk", 4, &v, &err), -1);
	assert_int_equal(err.status, 400);
}

static void body_json_and_unknown_types(void **state)
{
	json_t *v = NULL;
	kz_err err;
	const char j[] = "{\"email\":\"a@example.com\",\"seats\":12,\"consent\":true,\"t\":[\"ma\"]}";
	(void)state;
	assert_int_equal(kz_body_parse("application/json", j, strlen(j), &v, &err), 0);
	assert_string_equal(kz_body_str(v, "seats"), "12");
	assert_string_equal(kz_body_str(v, "consent"), "on");
	assert_string_equal(kz_body_str(v, "t"), "ma");
	json_decref(v);
	assert_int_equal(kz_body_parse("application/json", "{\"a\":{}}", 8, &v, &err), -1);
	assert_int_equal(kz_body_parse("text/xml", "<a/>", 4, &v, &err), -1);
	assert_int_equal(err.status, 415);
	assert_int_equal(kz_body_parse(NULL, "a=%C3%28", 8, &v, &err), -1);
	assert_string_equal(err.code, "invalid_encoding");
}

static void definition_needs_a_required_email_field(void **state)
{
	json_t *def = json_object(), *in;
	char *name = NULL;
	kz_err err;
	(void)state;
	in = json_loads("{\"name\":\"x\",\"fields\":[{\"name\":\"n\",\"type\":\"text\","
			"\"label\":{\"ja\":\"名前\"}}]}",
			0, NULL);
	assert_int_equal(kz_form_apply(def, &name, in, 1, NULL, &err), -1);
	assert_string_equal(err.field, "fields");
	json_decref(in);
	in = json_loads("{\"name\":\"x\",\"fields\":[{\"name\":\"email\",\"type\":\"email\","
			"\"label\":{\"ja\":\"メール\"},\"maps_to\":\"email\",\"required\":true}],"
			"\"actions\":[{\"type\":\"enroll_journey\"}]}",
			0, NULL);
	assert_int_equal(kz_form_apply(def, &name, in, 1, NULL, &err), -1);
	assert_string_equal(err.code, "invalid_field"); /* enroll_journey names no journey */
	assert_string_equal(err.field, "actions[0]");
	json_decref(in);
	in = json_loads("{\"name\":\"x\",\"fields\":[{\"name\":\"email\",\"type\":\"email\","
			"\"label\":{\"ja\":\"メール\"},\"maps_to\":\"fields.nope\",\"required\":true}]}",
			0, NULL);
	assert_int_equal(kz_form_apply(def, &name, in, 1, NULL, &err), -1);
	assert_string_equal(err.field, "fields[0]");
	json_decref(in);
	free(name);
	json_decref(def);
}

static void check_reports_each_bad_field_in_the_visitors_language(void **state)
{
	json_t *form = load_form(), *fields = kz_form_visible_fields(form, NULL), *clean, *errors;
	json_t *values = json_loads("{\"email\":\"nope\",\"seats\":\"999\",\"day\":\"2026-02-30\","
				    "\"topics\":[\"ma\",\"golf\"]}",
				    0, NULL);
	(void)state;
	assert_int_equal(kz_form_check(fields, values, "en", &clean, &errors), -1);
	assert_null(clean);
	assert_int_equal(json_array_size(errors), 5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "code")),
			    "invalid_email");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "message")),
			    "Enter a valid email address.");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "code")),
			    "out_of_range");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 2), "code")),
			    "invalid_date");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 3), "code")),
			    "invalid_choice");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 4), "code")),
			    "consent_required");
	json_decref(errors);
	json_decref(values);
	json_decref(fields);
	json_decref(form);
}

static void check_cleans_values_and_maps_them_to_the_contact(void **state)
{
	json_t *form = load_form(), *fields = kz_form_visible_fields(form, NULL), *clean, *errors;
	json_t *values = json_loads("{\"email\":\" Taro@Example.COM \",\"company\":\"  Kizuna \","
				    "\"seats\":\"12\",\"day\":\"2028-02-29\",\"consent\":\"on\"}",
				    0, NULL);
	json_t *tags = json_pack("[s]", "inquiry"), *in, *consent;
	(void)state;
	assert_int_equal(kz_form_check(fields, values, "ja", &clean, &errors), 0);
	assert_string_equal(json_string_value(json_object_get(clean, "email")), "taro@example.com");
	assert_true(json_is_true(json_object_get(clean, "consent")));
	in = kz_form_contact_input(fields, clean, tags);
	assert_string_equal(json_string_value(json_object_get(in, "email")), "taro@example.com");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(in, "company"), "name")), "Kizuna");
	assert_null(json_object_get(in, "seats"));
	assert_int_equal(json_array_size(json_object_get(in, "tags")), 1);
	consent = kz_form_consent(fields, clean, "ja");
	assert_true(json_is_true(json_object_get(consent, "granted")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(consent, "text"), "ja")),
			    "同意します");
	json_decref(consent);
	json_decref(in);
	json_decref(tags);
	json_decref(clean);
	json_decref(values);
	json_decref(fields);
	json_decref(form);
}

static void progressive_profiling_asks_the_next_unknown_field(void **state)
{
	json_t *form = load_form(), *contact, *shown;
	(void)state;
	shown = kz_form_visible_fields(form, NULL);
	assert_int_equal(json_array_size(shown), 6); /* company shown, phone waits */
	assert_string_equal(json_string_value(json_object_get(json_array_get(shown, 1), "name")),
			    "company");
	json_decref(shown);
	contact = json_loads("{\"email\":\"a@example.com\",\"company\":{\"id\":1,\"name\":\"K\"}}", 0,
			     NULL);
	shown = kz_form_visible_fields(form, contact);
	assert_int_equal(json_array_size(shown), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(shown, 1), "name")),
			    "phone");
	json_decref(shown);
	json_decref(contact);
	json_decref(form);
}

static void tokens_verify_and_expire(void **state)
{
	char tok[128];
	int64_t at = 0, cid = 0;
	(void)state;
	kz_token_set_secret("0123456789abcdef0123456789abcdef");
	kz_token_form(7, 1000, tok, sizeof tok);
	assert_int_equal(kz_token_form_check(7, tok, &at), 0);
	assert_int_equal(at, 1000);
	assert_int_equal(kz_token_form_check(8, tok, &at), -1);
	tok[strlen(tok) - 1] ^= 1;
	assert_int_equal(kz_token_form_check(7, tok, &at), -1);
	kz_token_asset(3, 42, 5000, tok, sizeof tok);
	assert_int_equal(kz_token_asset_check(3, tok, 4000, &cid), 0);
	assert_int_equal(cid, 42);
	assert_int_equal(kz_token_asset_check(3, tok, 6000, &cid), -2);
	assert_int_equal(kz_token_asset_check(4, tok, 4000, &cid), -1);
}

static void rendered_form_escapes_and_shows_errors_inline(void **state)
{
	json_t *form = load_form(), *fields;
	json_t *values = json_loads("{\"email\":\"\\\"><script>x</script>\"}", 0, NULL);
	json_t *errors = json_loads("[{\"field\":\"email\",\"code\":\"invalid_email\","
				    "\"message\":\"<b>bad</b>\"}]",
				    0, NULL);
	kz_form_view v;
	kz_buf b;
	(void)state;
	json_object_set_new(json_array_get(json_object_get(form, "fields"), 0), "label",
			    json_pack("{s:s}", "ja", "<i>メール</i>"));
	fields = kz_form_visible_fields(form, NULL);
	memset(&v, 0, sizeof v);
	v.form = form;
	v.fields = fields;
	v.lang = "ja";
	v.action = "https://m.example.com/f/7";
	v.token = "1.abc";
	v.values = values;
	v.errors = errors;
	kz_buf_init(&b, 0);
	kz_render_form(&b, &v);
	assert_null(strstr(b.data, "<script>"));
	assert_null(strstr(b.data, "<i>"));
	assert_non_null(strstr(b.data, "&lt;i&gt;メール&lt;/i&gt;"));
	assert_non_null(strstr(b.data, "value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
	assert_non_null(strstr(b.data, "&lt;b&gt;bad&lt;/b&gt;"));
	assert_non_null(strstr(b.data, "kz-field-email kz-invalid"));
	assert_non_null(strstr(b.data, "name=\"_kz_url\""));
	assert_non_null(strstr(b.data, "同意します"));
	kz_buf_release(&b);
	json_decref(fields);
	json_decref(errors);
	json_decref(values);
	json_decref(form);
}

static void assets_are_checked_by_type_and_bytes(void **state)
{
	char mime[128];
	kz_err err;
	char *name;
	(void)state;
	assert_int_equal(kz_asset_check("application/pdf", "%PDF-1.7", 8, mime, sizeof mime, &err), 0);
	assert_string_equal(mime, "application/pdf");
	assert_int_equal(kz_asset_check("application/pdf", "MZ\x90", 3, mime, sizeof mime, &err), -1);
	assert_string_equal(err.code, "content_mismatch");
	assert_int_equal(kz_asset_check("text/html", "<p>", 3, mime, sizeof mime, &err), -1);
	assert_int_equal(err.status, 415);
	name = kz_asset_safe_filename("../資料 \"2026\".pdf", "application/pdf");
	assert_string_equal(name, "2026.pdf");
	free(name);
	name = kz_asset_safe_filename(NULL, "image/png");
	assert_string_equal(name, "download.png");
	free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(body_urlencoded_decodes_and_repeats),
		cmocka_unit_test(body_multipart_reads_text_parts_and_refuses_files),
		cmocka_unit_test(body_json_and_unknown_types),
		cmocka_unit_test(definition_needs_a_required_email_field),
		cmocka_unit_test(check_reports_each_bad_field_in_the_visitors_language),
		cmocka_unit_test(check_cleans_values_and_maps_them_to_the_contact),
		cmocka_unit_test(progressive_profiling_asks_the_next_unknown_field),
		cmocka_unit_test(tokens_verify_and_expire),
		cmocka_unit_test(rendered_form_escapes_and_shows_errors_inline),
		cmocka_unit_test(assets_are_checked_by_type_and_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
