/* rowjson.c — turning result cells into JSON values. */
#include "store/rowjson.h"
#include "base/json.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/timeutil.h"

#include "base/banned.h"

json_t *kz_cell_str(const kz_rows *r, int row, int col)
{
	const char *v = kz_rows_get(r, row, col);
	return v ? json_string(v) : json_null();
}

json_t *kz_cell_int(const kz_rows *r, int row, int col)
{
	const char *v = kz_rows_get(r, row, col);
	return v ? json_integer(strtoll(v, NULL, 10)) : json_null();
}

json_t *kz_cell_time(const kz_rows *r, int row, int col)
{
	char iso[40];
	const char *v = kz_rows_get(r, row, col);
	if (!v)
		return json_null();
	kz_time_iso(strtoll(v, NULL, 10), iso, sizeof iso);
	return json_string(iso);
}

json_t *kz_cell_json(const kz_rows *r, int row, int col, const char *fallback)
{
	const char *v = kz_rows_get(r, row, col);
	json_t *j = kz_json_loads(v, KZ_JSON_ANY, NULL);
	return j ? j : kz_json_loads(fallback, KZ_JSON_ANY, NULL);
}

const char *kz_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

char *kz_jdump(const json_t *v)
{
	if (!v || json_is_null(v))
		return strdup("{}");
	return kz_json_dumps(v);
}

int kz_conn_is_pg(const kz_conn *c)
{
	return c->drv == &kz_pg_driver;
}

char *kz_like_contains(const char *s)
{
	kz_buf b;
	kz_buf_init(&b, 0);
	kz_buf_addc(&b, '%');
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			kz_buf_addc(&b, '\\');
		kz_buf_addc(&b, *s);
	}
	kz_buf_addc(&b, '%');
	return kz_buf_detach(&b, NULL);
}
