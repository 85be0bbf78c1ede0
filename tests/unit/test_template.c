/* test_template.c — unit tests for the Liquid-compatible template engine: output, filters,
 * tags, whitespace control, escaping, errors with line and column, sandbox limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "template/template.h"
#include "base/banned.h"

static json_t *vars(void)
{
	return json_pack("{s:{s:s, s:s, s:s, s:i, s:{s:s}, s:[s,s,s], s:s},"
			 " s:{s:s}, s:[{s:s,s:i},{s:s,s:i},{s:s,s:i}], s:s, s:s}",
			 "contact", "first_name", "太郎", "last_name", "山田", "email",
			 "taro@example.jp", "score", 42, "fields", "plan", "pro", "tags", "vip",
			 "seminar", "lead", "created_at", "2026-11-24T17:11:58Z", "company",
			 "name", "株式会社 <絆>", "items", "name", "A", "price", 100, "name", "B",
			 "price", 250, "name", "C", "price", 999, "unsubscribe_url",
			 "https://kz.example/u/abc?x=1&y=2", "empty_str", "");
}

/* Render src in mode against vars(); fail the test on any error. Caller frees. */
static char *render_mode(const char *src, enum kz_tpl_mode mode)
{
	kz_tpl_err err;
	kz_tpl *t = kz_tpl_compile(src, strlen(src), mode, &err);
	json_t *v = vars();
	kz_buf out;
	if (!t)
		fail_msg("compile \"%s\": %d:%d %s", src, err.line, err.col, err.message);
	kz_buf_init(&out, 0);
	if (kz_tpl_render(t, v, NULL, &out, &err) < 0)
		fail_msg("render \"%s\": %d:%d %s", src, err.line, err.col, err.message);
	kz_tpl_free(t);
	json_decref(v);
	return kz_buf_detach(&out, NULL);
}

static void expect(const char *src, const char *want)
{
	char *got = render_mode(src, KZ_TPL_TEXT);
	if (strcmp(got, want))
		fail_msg("\"%s\" rendered \"%s\", want \"%s\"", src, got, want);
	free(got);
}

static void expect_html(const char *src, const char *want)
{
	char *got = render_mode(src, KZ_TPL_HTML);
	if (strcmp(got, want))
		fail_msg("\"%s\" rendered \"%s\", want \"%s\"", src, got, want);
	free(got);
}

static void expect_compile_error(const char *src, int line, int col, const char *part)
{
	kz_tpl_err err;
	kz_tpl *t = kz_tpl_compile(src, strlen(src), KZ_TPL_HTML, &err);
	if (t) {
		kz_tpl_free(t);
		fail_msg("\"%s\" compiled but should not", src);
	}
	if (err.line != line || err.col != col || !strstr(err.message, part))
		fail_msg("\"%s\": got %d:%d \"%s\", want %d:%d containing \"%s\"", src, err.line,
			 err.col, err.message, line, col, part);
}

static void variables_and_paths_render(void **state)
{
	(void)state;
	expect("こんにちは {{ contact.last_name }}{{contact.first_name}}様", "こんにちは 山田太郎様");
	expect("{{ contact.fields.plan }}/{{ contact.tags[1] }}/{{ contact.tags.size }}",
	       "pro/seminar/3");
	expect("{{ contact.tags.first }}-{{ contact.tags.last }}-{{ items[2].name }}", "vip-lead-C");
	expect("[{{ contact.nothing }}][{{ nobody.at.all }}]", "[][]");
	expect("{{ contact.score }} {{ 1.5 }} {{ true }} {{ 'x' }}", "42 1.5 true x");
}

static void default_and_string_filters(void **state)
{
	(void)state;
	expect("{{ contact.nickname | default: \"お客様\" }}", "お客様");
	expect("{{ empty_str | default: 'x' }}{{ contact.first_name | default: 'x' }}", "x太郎");
	expect("{{ 'hello world' | upcase }} {{ 'ÉCOLE' | downcase }} {{ 'tokyo' | capitalize }}",
	       "HELLO WORLD école Tokyo");
	expect("{{ 'あいうえおかきくけこ' | truncate: 6 }}", "あいう...");
	expect("{{ 'abcdef' | truncate: 4, '…' }}|{{ 'abc' | truncate: 10 }}", "abc…|abc");
	expect("{{ 'a b&c/日本' | url_encode }}", "a+b%26c%2F%E6%97%A5%E6%9C%AC");
	expect("{{ 'a,b,c' | split: ',' | join: '-' }}|{{ 'a,b' | split: ',' | size }}",
	       "a-b-c|2");
	expect("{{ contact.tags | join: ', ' }}|{{ contact.tags | first }}|{{ contact.tags | last }}",
	       "vip, seminar, lead|vip|lead");
	expect("{{ '日本語' | size }}|{{ 'x' | append: 'y' | prepend: 'w' }}", "3|wxy");
	expect("{{ '  pad  ' | strip }}|{{ 'a-b-a' | replace: 'a', 'o' }}|{{ 'a-b-a' | remove: '-' }}",
	       "pad|o-b-o|aba");
}

static void number_filters(void **state)
{
	(void)state;
	expect("{{ contact.score | plus: 8 }} {{ 10 | minus: 3 }} {{ 3 | times: 4 }}", "50 7 12");
	expect("{{ 10 | divided_by: 4 }} {{ 10.0 | divided_by: 4 }} {{ 10 | modulo: 3 }}",
	       "2 2.5 1");
	expect("{{ 3.14159 | round: 2 }} {{ 2.5 | round }} {{ 1.2 | ceil }} {{ -1 | abs }}",
	       "3.14 3 2 1");
	expect("{{ '7' | plus: 1 }}", "8");
}

static void date_filter_uses_the_given_zone(void **state)
{
	(void)state;
	expect("{{ contact.created_at | date: '%Y年%m月%d日 %H:%M', 'Asia/Tokyo' }}",
	       "2026年11月25日 02:11");
	expect("{{ contact.created_at | date: '%Y-%m-%d %H:%M:%S %Z' }}",
	       "2026-11-24 17:11:58 UTC");
	expect("{{ contact.created_at | date: '%a %b %-d %z', '+05:30' }}", "Tue Nov 24 +0530");
	expect("{{ contact.created_at | date: '%A (%J)', 'Asia/Tokyo' }}", "Wednesday (水)");
	expect("{{ contact.created_at | date: '%Z %z', 'America/New_York' }}", "EST -0500");
	expect("{{ '2026-07-01T12:00:00Z' | date: '%H %Z', 'America/New_York' }}", "08 EDT");
	expect("{{ 'not a date' | date: '%Y' }}", "not a date");
}

static void if_unless_case(void **state)
{
	(void)state;
	expect("{% if contact.score > 40 %}hot{% elsif contact.score > 10 %}warm{% else %}cold{% endif %}",
	       "hot");
	expect("{% if contact.score < 10 %}a{% elsif contact.fields.plan == 'pro' %}b{% endif %}",
	       "b");
	expect("{% unless contact.nickname %}no nick{% endunless %}", "no nick");
	expect("{% if contact.tags contains 'vip' and contact.email contains '@' %}y{% endif %}",
	       "y");
	expect("{% if false or true and false %}y{% else %}n{% endif %}", "n");
	expect("{% if empty_str == empty %}e{% endif %}{% if contact.tags != empty %}t{% endif %}",
	       "et");
	expect("{% case contact.fields.plan %}{% when 'free' %}F{% when 'pro', 'team' %}P"
	       "{% else %}?{% endcase %}",
	       "P");
	expect("{% case 3 %}{% when 1 or 2 %}low{% else %}high{% endcase %}", "high");
}

static void for_loops_ranges_limits(void **state)
{
	(void)state;
	expect("{% for i in items %}{{ forloop.index }}:{{ i.name }}={{ i.price }}"
	       "{% unless forloop.last %},{% endunless %}{% endfor %}",
	       "1:A=100,2:B=250,3:C=999");
	expect("{% for n in (1..5) limit: 2 offset: 1 %}{{ n }}{% endfor %}", "23");
	expect("{% for n in (1..3) reversed %}{{ n }}{% endfor %}", "321");
	expect("{% for x in nothing %}x{% else %}none{% endfor %}", "none");
	expect("{% for n in (1..10) %}{% if n == 4 %}{% break %}{% endif %}"
	       "{% if n == 2 %}{% continue %}{% endif %}{{ n }}{% endfor %}",
	       "13");
	expect("{% assign k = 3 %}{% for n in (1..k) %}{{ forloop.index0 }}{{ forloop.rindex }}"
	       "{% endfor %}",
	       "031221");
}

static void assign_capture_comments_raw(void **state)
{
	(void)state;
	expect("{% assign name = contact.first_name | append: 'さん' %}{{ name }}", "太郎さん");
	expect("{% capture greet %}Hi {{ contact.last_name }}!{% endcapture %}[{{ greet }}]",
	       "[Hi 山田!]");
	expect("a{% comment %} {{ broken %} {% endcomment %}b{%# inline %}c", "abc");
	expect("{% raw %}{{ not rendered }}{% endraw %}", "{{ not rendered }}");
}

static void whitespace_control_trims(void **state)
{
	(void)state;
	expect("<ul>\n  {%- for i in items -%}\n  <li>{{ i.name }}</li>\n  {%- endfor -%}\n</ul>",
	       "<ul><li>A</li><li>B</li><li>C</li></ul>");
	expect("a  {{- 'b' -}}  c", "abc");
}

static void html_mode_escapes_unless_raw(void **state)
{
	(void)state;
	expect_html("<p>{{ company.name }}</p>", "<p>株式会社 &lt;絆&gt;</p>");
	expect_html("<a href=\"{{ unsubscribe_url }}\">", "<a href=\"https://kz.example/u/abc?x=1&amp;y=2\">");
	expect_html("{{ company.name | escape }}", "株式会社 &lt;絆&gt;");
	expect_html("{{ '<b>ok</b>' | raw }}", "<b>ok</b>");
	expect("{{ company.name }}", "株式会社 <絆>");
}

static void errors_report_line_and_column(void **state)
{
	(void)state;
	expect_compile_error("Hello\n  {{ contact.name | shout }}", 2, 21, "unknown filter");
	expect_compile_error("{% if x %}\nyes\n", 1, 4, "never closed");
	expect_compile_error("ok\n{{ x ", 2, 1, "never closed");
	expect_compile_error("{% for x of y %}{% endfor %}", 1, 10, "expected \"in\"");
	expect_compile_error("行1\n行2 {% frobnicate %}", 2, 7, "unknown tag");
	expect_compile_error("{{ x | truncate: 1, 2, 3 }}", 1, 8, "takes 0 to 2 arguments");
	expect_compile_error("{% endif %}", 1, 4, "without a block");
	expect_compile_error("{% include 'x' %}", 1, 4, "cannot read files");
	expect_compile_error("{% if a = 1 %}{% endif %}", 1, 9, "compare with");
}

static void sandbox_limits_loops_and_output(void **state)
{
	kz_tpl_err err;
	const char *src = "{% for a in (1..1000) %}{% for b in (1..1000) %}x{% endfor %}{% endfor %}";
	kz_tpl *t = kz_tpl_compile(src, strlen(src), KZ_TPL_TEXT, &err);
	kz_tpl_limits lim = {1000, 0};
	kz_buf out;
	(void)state;
	assert_non_null(t);
	kz_buf_init(&out, 0);
	assert_int_equal(kz_tpl_render(t, NULL, &lim, &out, &err), -1);
	assert_non_null(strstr(err.message, "loop steps"));
	kz_buf_reset(&out);
	lim.max_iterations = 0;
	lim.max_output = 5000;
	assert_int_equal(kz_tpl_render(t, NULL, &lim, &out, &err), -1);
	assert_non_null(strstr(err.message, "output"));
	assert_true(out.len <= 5000);
	kz_buf_release(&out);
	kz_tpl_free(t);
}

static void compiled_template_renders_many_times(void **state)
{
	kz_tpl_err err;
	const char *src = "{{ contact.first_name }}{% assign x = 1 %}{{ x }}";
	kz_tpl *t = kz_tpl_compile(src, strlen(src), KZ_TPL_TEXT, &err);
	json_t *v = vars();
	(void)state;
	for (int i = 0; i < 100; i++) {
		kz_buf out;
		kz_buf_init(&out, 0);
		assert_int_equal(kz_tpl_render(t, v, NULL, &out, &err), 0);
		assert_string_equal(out.data, "太郎1");
		kz_buf_release(&out);
	}
	json_decref(v);
	kz_tpl_free(t);
}

static void render_errors_name_the_filter(void **state)
{
	kz_tpl_err err;
	const char *src = "a\n{{ 1 | divided_by: 0 }}";
	kz_tpl *t = kz_tpl_compile(src, strlen(src), KZ_TPL_TEXT, &err);
	kz_buf out;
	(void)state;
	kz_buf_init(&out, 0);
	assert_int_equal(kz_tpl_render(t, NULL, NULL, &out, &err), -1);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 8);
	assert_non_null(strstr(err.message, "division by zero"));
	kz_buf_release(&out);
	kz_tpl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(variables_and_paths_render),
		cmocka_unit_test(default_and_string_filters),
		cmocka_unit_test(number_filters),
		cmocka_unit_test(date_filter_uses_the_given_zone),
		cmocka_unit_test(if_unless_case),
		cmocka_unit_test(for_loops_ranges_limits),
		cmocka_unit_test(assign_capture_comments_raw),
		cmocka_unit_test(whitespace_control_trims),
		cmocka_unit_test(html_mode_escapes_unless_raw),
		cmocka_unit_test(errors_report_line_and_column),
		cmocka_unit_test(sandbox_limits_loops_and_output),
		cmocka_unit_test(compiled_template_renders_many_times),
		cmocka_unit_test(render_errors_name_the_filter),
	};
	setenv("TZ", "Asia/Tokyo", 1); /* nothing may read the machine's zone */
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
