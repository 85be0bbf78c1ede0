/* fuzz_report.c — libFuzzer target: bounce (DSN) and complaint (ARF) messages through GMime
 * and our field parser; whatever comes in, the report's strings stay terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/dsn.h"
#include "base/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kz_report r;
	kz_err err;
	if (size > 1 << 18)
		return 0;
	if (kz_report_parse((const char *)data, size, &r, &err) == 0) {
		if (strlen(r.recipient) >= sizeof r.recipient || strlen(r.status) >= sizeof r.status ||
		    strlen(r.send_ref) >= sizeof r.send_ref || !r.kind) {
			fprintf(stderr, "fuzz_report: a malformed report was accepted\n");
			abort();
		}
	} else if (err.status != 422) {
		fprintf(stderr, "fuzz_report: unexpected error %d\n", err.status);
		abort();
	}
	return 0;
}
