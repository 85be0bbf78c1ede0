/* fuzz_evlog.c — libFuzzer target: event-log records as read back after a crash. Whatever the
 * bytes, the decoder must not crash or leak, must reject what it cannot vouch for, and what
 * it accepts must encode back to a record that decodes to the same event. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/buf.h"
#include "track/evlog.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_evlog: %s\n", what);
	abort();
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The raw input, and the input behind a header with a valid checksum (so the fuzzer reaches
 * the payload's parser, not just the CRC check). */
static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void check_stream(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *rec = malloc(KZ_EVLOG_HEADER + size + 1);
	check_stream(data, size);
	if (rec && size < (1u << 20)) {
		memset(rec, 0, KZ_EVLOG_HEADER);
		put32(rec, 0x5645574bu);
		put32(rec + 4, (uint32_t)size);
		rec[8] = 1;
		put32(rec + 16, (uint32_t)crc32(0L, data, (uInt)size));
		memcpy(rec + KZ_EVLOG_HEADER, data, size);
		check_stream(rec, KZ_EVLOG_HEADER + size);
	}
	free(rec);
	return 0;
}

static void check_stream(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		kz_track_event ev, again;
		uint64_t seq, seq2;
		size_t used, used2;
		kz_buf b;
		int d = kz_evlog_decode(data + off, size - off, &ev, &seq, &used);
		if (d <= 0)
			break;
		if (used > size - off || used < KZ_EVLOG_HEADER)
			fail("used is out of range");
		kz_buf_init(&b, 0);
		if (kz_evlog_encode(&ev, seq, &b) < 0)
			fail("an accepted record does not encode");
		if (kz_evlog_decode((const unsigned char *)b.data, b.len, &again, &seq2, &used2) != 1)
			fail("a re-encoded record does not decode");
		if (seq2 != seq || used2 != b.len || again.type != ev.type ||
		    !same(again.name, ev.name) || !same(again.message_id, ev.message_id) ||
		    !same(again.anon_id, ev.anon_id) || !same(again.email, ev.email) ||
		    !same(again.properties_text, ev.properties_text) ||
		    again.occurred_at != ev.occurred_at || again.contact_id != ev.contact_id)
			fail("the round trip changed the event");
		kz_track_event_release(&again);
		kz_track_event_release(&ev);
		kz_buf_release(&b);
		off += used;
	}
}
