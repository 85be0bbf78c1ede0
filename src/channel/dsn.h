/* dsn.h — reads bounce reports (RFC 3464 delivery status notifications) and complaints
 * (RFC 5965 ARF feedback reports) with GMime, and finds the send they are about. */
#ifndef KZ_DSN_H
#define KZ_DSN_H

#include <stddef.h>

#include "base/err.h"

enum kz_report_kind { KZ_REPORT_BOUNCE = 1, KZ_REPORT_DELAY, KZ_REPORT_COMPLAINT };

typedef struct kz_report {
	enum kz_report_kind kind;
	int hard;              /* bounces: 1 when the status is permanent (5.x.x) */
	char recipient[320];   /* Final-Recipient / Original-Rcpt-To, lowercased */
	char status[16];       /* "5.1.1" */
	char diagnostic[300];  /* Diagnostic-Code text, or the complaint's Feedback-Type */
	char send_ref[160];    /* X-Kizuna-Send of the returned message, "" if absent */
	char return_path[320]; /* the report's own To (the VERP address it came back to) */
} kz_report;

/* Parse one report message. 0, or -1 with a 422 err saying what is missing. */
int kz_report_parse(const char *data, size_t len, kz_report *out /* OUT */, kz_err *err);

#endif
