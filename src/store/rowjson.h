/* rowjson.h — turning result cells into JSON values (private to src/store/). */
#ifndef KZ_ROWJSON_H
#define KZ_ROWJSON_H

#include <jansson.h>

#include "store/db.h"

/* Cell as a JSON string, or null. */
json_t *kz_cell_str(const kz_rows *r, int row, int col);
/* Cell as a JSON integer, or null. */
json_t *kz_cell_int(const kz_rows *r, int row, int col);
/* Cell (ms since epoch) as an ISO 8601 string, or null. */
json_t *kz_cell_time(const kz_rows *r, int row, int col);
/* Cell holding a JSON document, parsed; `fallback` ("{}" or "null") when empty. */
json_t *kz_cell_json(const kz_rows *r, int row, int col, const char *fallback);
/* A string member of `o`, or NULL when missing/null. */
const char *kz_jstr(const json_t *o, const char *key);
/* Dump a JSON value compactly (malloc'd), "{}" for NULL. */
char *kz_jdump(const json_t *v);
/* 1 when the connection talks to PostgreSQL. */
int kz_conn_is_pg(const kz_conn *c);
/* Escape LIKE wildcards (% _ \) in s and wrap it in %...%; malloc'd. */
char *kz_like_contains(const char *s);

#endif
