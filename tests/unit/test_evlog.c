/* test_evlog.c — the event log: records round-trip, numbering survives reopening, a torn tail
 * is cut off, files rotate and are trimmed, the directory is locked; the messageId window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crypto.h"
#include "track/dedupe.h"
#include "track/evlog.h"

static char *make_dir(void)
{
	char tmpl[] = "/tmp/kz-evlog-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void remove_dir(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'.orphan-*", dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void make_event(kz_track_event *ev, int i)
{
	char buf[64];
	memset(ev, 0, sizeof *ev);
	ev->type = i % 2 ? KZ_EV_PAGE : KZ_EV_TRACK;
	ev->name = strdup(i % 2 ? "page_view" : "資料ダウンロード");
	snprintf(buf, sizeof buf, "m-%d", i);
	ev->message_id = strdup(buf);
	snprintf(buf, sizeof buf, "anon-%d", i % 7);
	ev->anon_id = strdup(buf);
	ev->site_id = 3;
	ev->browser = 1;
	ev->occurred_at = 1800000000000LL + i;
	ev->received_at = 1800000000500LL + i;
	ev->properties_text = strdup("{\"plan\":\"pro\"}");
	ev->context_text = strdup("{\"url\":\"https://example.jp/料金\",\"ip\":\"203.0.113.0\"}");
}

static void append_n(kz_evlog *l, int from, int n, uint64_t *first)
{
	kz_track_event evs[16];
	kz_err err;
	assert_true(n <= 16);
	for (int i = 0; i < n; i++)
		make_event(&evs[i], from + i);
	assert_int_equal(kz_evlog_append(l, evs, n, first, &err), 0);
	for (int i = 0; i < n; i++)
		kz_track_event_release(&evs[i]);
}

static int read_all(kz_evlog *l, uint64_t after, uint64_t *last_seq)
{
	kz_track_event evs[8];
	uint64_t seqs[8];
	kz_err err;
	int total = 0, n;
	while ((n = kz_evlog_read(l, after, evs, seqs, 8, &err)) > 0) {
		for (int i = 0; i < n; i++) {
			assert_int_equal(seqs[i], after + 1);
			after = seqs[i];
			kz_track_event_release(&evs[i]);
		}
		total += n;
	}
	assert_int_equal(n, 0);
	*last_seq = after;
	return total;
}

static void record_round_trips_every_field(void **state)
{
	kz_track_event ev, back;
	kz_buf b;
	uint64_t seq = 0;
	size_t used = 0;
	(void)state;
	make_event(&ev, 1);
	ev.email = strdup("taro@example.jp");
	ev.contact_id = 42;
	ev.headless = 1;
	ev.type = KZ_EV_IDENTIFY;
	ev.traits = json_pack("{s:s}", "last_name", "山田");
	kz_buf_init(&b, 0);
	assert_int_equal(kz_evlog_encode(&ev, 77, &b), 0);
	assert_int_equal(kz_evlog_decode((unsigned char *)b.data, b.len, &back, &seq, &used), 1);
	assert_int_equal(seq, 77);
	assert_int_equal(used, b.len);
	assert_int_equal(back.type, KZ_EV_IDENTIFY);
	assert_string_equal(back.name, "page_view");
	assert_string_equal(back.message_id, "m-1");
	assert_string_equal(back.anon_id, "anon-1");
	assert_null(back.user_id);
	assert_string_equal(back.email, "taro@example.jp");
	assert_int_equal(back.contact_id, 42);
	assert_int_equal(back.site_id, 3);
	assert_true(back.browser);
	assert_true(back.headless);
	assert_int_equal(back.occurred_at, 1800000000001LL);
	assert_string_equal(back.properties_text, "{\"plan\":\"pro\"}");
	assert_string_equal(json_string_value(json_object_get(back.context, "url")),
			    "https://example.jp/料金");
	assert_string_equal(json_string_value(json_object_get(back.traits, "last_name")), "山田");
	kz_track_event_release(&back);
	/* a partial record asks for more; a flipped byte is corruption */
	assert_int_equal(kz_evlog_decode((unsigned char *)b.data, b.len - 1, &back, &seq, &used), 0);
	b.data[b.len - 3] ^= 0x20;
	assert_int_equal(kz_evlog_decode((unsigned char *)b.data, b.len, &back, &seq, &used), -1);
	kz_buf_release(&b);
	kz_track_event_release(&ev);
}

static void numbering_survives_reopening(void **state)
{
	char *dir = make_dir();
	kz_err err;
	uint64_t first, last;
	char id[33];
	kz_evlog *l = kz_evlog_open(dir, 0, &err);
	(void)state;
	assert_non_null(l);
	snprintf(id, sizeof id, "%s", kz_evlog_id(l));
	append_n(l, 0, 3, &first);
	assert_int_equal(first, 1);
	append_n(l, 3, 2, &first);
	assert_int_equal(first, 4);
	kz_evlog_close(l);
	l = kz_evlog_open(dir, 0, &err);
	assert_non_null(l);
	assert_string_equal(kz_evlog_id(l), id);
	assert_int_equal(kz_evlog_last(l), 5);
	assert_int_equal(read_all(l, 0, &last), 5);
	assert_int_equal(read_all(l, 3, &last), 2);
	assert_int_equal(last, 5);
	append_n(l, 5, 1, &first);
	assert_int_equal(first, 6);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void synced_appends_read_back(void **state)
{
	char *dir = make_dir();
	kz_err err;
	uint64_t first, last;
	kz_evlog *l = kz_evlog_open(dir, 0, &err);
	(void)state;
	kz_evlog_set_sync(l, 1);
	append_n(l, 0, 4, &first);
	kz_evlog_close(l);
	l = kz_evlog_open(dir, 0, &err);
	assert_int_equal(read_all(l, 0, &last), 4);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void torn_tail_is_cut_off(void **state)
{
	char *dir = make_dir(), path[600];
	kz_err err;
	uint64_t first, last;
	int fd;
	kz_evlog *l = kz_evlog_open(dir, 0, &err);
	(void)state;
	append_n(l, 0, 4, &first);
	kz_evlog_close(l);
	/* half a record at the end, as a crash in the middle of a write leaves it */
	snprintf(path, sizeof path, "%s/%016x.log", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "KWEV\x10\x00", 6), 6);
	close(fd);
	l = kz_evlog_open(dir, 0, &err);
	assert_non_null(l);
	assert_int_equal(kz_evlog_last(l), 4);
	append_n(l, 4, 1, &first);
	assert_int_equal(first, 5);
	assert_int_equal(read_all(l, 0, &last), 5);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".log") != NULL;
	closedir(d);
	return n;
}

static void files_rotate_and_applied_ones_are_trimmed(void **state)
{
	char *dir = make_dir();
	kz_err err;
	uint64_t first, last;
	kz_evlog *l = kz_evlog_open(dir, 600, &err); /* tiny files: a few records each */
	(void)state;
	for (int i = 0; i < 10; i++)
		append_n(l, i * 3, 3, &first);
	assert_true(count_files(dir) > 3);
	assert_int_equal(read_all(l, 0, &last), 30);
	assert_int_equal(read_all(l, 17, &last), 13);
	kz_evlog_trim(l, 20);
	assert_int_equal(read_all(l, 20, &last), 10);
	kz_evlog_trim(l, 30);
	assert_int_equal(count_files(dir), 1);
	kz_evlog_close(l);
	l = kz_evlog_open(dir, 600, &err);
	assert_non_null(l);
	assert_int_equal(kz_evlog_last(l), 30);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void second_opener_is_refused(void **state)
{
	char *dir = make_dir();
	kz_err err;
	kz_evlog *l = kz_evlog_open(dir, 0, &err), *again;
	(void)state;
	assert_non_null(l);
	again = kz_evlog_open(dir, 0, &err);
	assert_null(again);
	assert_string_equal(err.code, "event_log_locked");
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void set_aside_starts_a_new_log(void **state)
{
	char *dir = make_dir();
	kz_err err;
	uint64_t first, last;
	char id[33];
	kz_evlog *l = kz_evlog_open(dir, 0, &err);
	(void)state;
	append_n(l, 0, 3, &first);
	snprintf(id, sizeof id, "%s", kz_evlog_id(l));
	assert_int_equal(kz_evlog_set_aside(l, &err), 0);
	assert_string_not_equal(kz_evlog_id(l), id);
	assert_int_equal(kz_evlog_last(l), 0);
	assert_int_equal(read_all(l, 0, &last), 0);
	append_n(l, 0, 2, &first);
	assert_int_equal(first, 1);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void duplicates_are_skipped_when_appending(void **state)
{
	char *dir = make_dir();
	kz_err err;
	kz_track_event evs[3];
	uint64_t first, last;
	kz_evlog *l = kz_evlog_open(dir, 0, &err);
	(void)state;
	for (int i = 0; i < 3; i++)
		make_event(&evs[i], i);
	evs[1].state = KZ_EV_DUPLICATE;
	assert_int_equal(kz_evlog_append(l, evs, 3, &first, &err), 0);
	assert_int_equal(kz_evlog_last(l), 2);
	assert_int_equal(read_all(l, 0, &last), 2);
	for (int i = 0; i < 3; i++)
		kz_track_event_release(&evs[i]);
	kz_evlog_close(l);
	remove_dir(dir);
	free(dir);
}

static void dedupe_remembers_the_newest_window(void **state)
{
	kz_dedupe *d = kz_dedupe_new(100);
	char id[32];
	(void)state;
	assert_int_equal(kz_dedupe_add(d, "a"), 0);
	assert_int_equal(kz_dedupe_add(d, "a"), 1);
	assert_true(kz_dedupe_has(d, "a"));
	assert_false(kz_dedupe_has(d, "b"));
	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		assert_int_equal(kz_dedupe_add(d, id), 0);
	}
	/* the newest 100 are always there; far older ones are forgotten */
	for (int i = 900; i < 1000; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		assert_true(kz_dedupe_has(d, id));
	}
	assert_false(kz_dedupe_has(d, "a"));
	assert_true(kz_dedupe_size(d) <= 200);
	kz_dedupe_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_round_trips_every_field),
		cmocka_unit_test(numbering_survives_reopening),
		cmocka_unit_test(synced_appends_read_back),
		cmocka_unit_test(torn_tail_is_cut_off),
		cmocka_unit_test(files_rotate_and_applied_ones_are_trimmed),
		cmocka_unit_test(second_opener_is_refused),
		cmocka_unit_test(set_aside_starts_a_new_log),
		cmocka_unit_test(duplicates_are_skipped_when_appending),
		cmocka_unit_test(dedupe_remembers_the_newest_window),
	};
	kz_crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
