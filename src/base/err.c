/* err.c — filling kz_err records. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/banned.h"

int kz_err_set(kz_err *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;
	if (!e)
		return -1;
	e->status = status;
	snprintf(e->code, sizeof e->code, "%s", code ? code : "error");
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return -1;
}

void kz_err_clear(kz_err *e)
{
	memset(e, 0, sizeof *e);
}
