/* import_map.h — maps CSV import headers (Japanese and English) to contact fields. */
#ifndef KZ_IMPORT_MAP_H
#define KZ_IMPORT_MAP_H

/* The contact field for a CSV header ("メールアドレス", "E-mail" -> "email"),
 * compared after kz_fold_search; a static string, or NULL when unknown. */
const char *kz_import_field_for_header(const char *header);

/* Split a full name into malloc'd parts. CJK names split at the first space,
 * family name first ("山田　太郎"); others at the last space, family name last
 * ("Mary Ann Smith"). No space: *last is the whole name, *first NULL. */
void kz_split_full_name(const char *full, char **last /* OUT */, char **first /* OUT */);

#endif
