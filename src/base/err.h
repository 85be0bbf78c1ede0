/* err.h — the error record that travels from validation and storage to the JSON answer. */
#ifndef KZ_ERR_H
#define KZ_ERR_H

#include <stddef.h>

/* HTTP-flavoured error: status, a stable machine code, a human message, the field. */
typedef struct kz_err {
	int status;        /* 400, 404, 409, 422, 500 ... ; 0 means no error */
	char code[32];     /* "invalid_field", "not_found", ... */
	char field[96];    /* "email", "fields.plan", "" when none */
	char message[256]; /* says what was wrong and how to fix it */
} kz_err;

/* Fill `e` (if non-NULL) and return -1, so callers can `return kz_err_set(...)`. */
int kz_err_set(kz_err *e, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Clear to "no error". */
void kz_err_clear(kz_err *e);

#endif
