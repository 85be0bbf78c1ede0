/* stats.c — workspace totals in SQL (dashboard). */
#include "store/db.h"
#include "store/rowjson.h"
#include "store/store.h"

#include "base/banned.h"

int kz_store_stats(kz_conn *c, json_t **out, kz_err *err)
{
	kz_rows rows;
	*out = NULL;
	if (kz_db_query(c,
			"SELECT (SELECT COUNT(*) FROM contacts), (SELECT COUNT(*) FROM companies),"
			" (SELECT COUNT(*) FROM users WHERE active = 1),"
			" (SELECT COUNT(DISTINCT tag) FROM contact_tags)",
			NULL, 0, &rows, err) < 0)
		return -1;
	*out = json_pack("{s:o, s:o, s:o, s:o}", "contacts", kz_cell_int(&rows, 0, 0), "companies",
			 kz_cell_int(&rows, 0, 1), "users", kz_cell_int(&rows, 0, 2), "tags",
			 kz_cell_int(&rows, 0, 3));
	kz_rows_free(&rows);
	return 0;
}
