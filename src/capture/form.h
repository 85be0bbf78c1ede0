/* form.h — form definitions (fields, actions, success, settings), their validation, and the
 * validation of one submission against them (no SQL, no HTTP). */
#ifndef KZ_CAPTURE_FORM_H
#define KZ_CAPTURE_FORM_H

#include <jansson.h>

#include "base/err.h"

#define KZ_FORM_MAX_FIELDS 50

/* Validate `in` (a POST/PATCH body) into the stored definition *def (fields, actions, success,
 * settings) and *name. create=1 requires name and fields; 0 keeps what `in` leaves out
 * (def holds the current definition on entry). field_defs: the custom field definitions that
 * "maps_to": "fields.KEY" may name. Returns 0, or -1 with err (field says where). */
int kz_form_apply(json_t *def, char **name /* IN/OUT, malloc'd */, const json_t *in, int create,
		  const json_t *field_defs, kz_err *err);

/* The language to show: "ja" or "en" from ?lang=, else Accept-Language, else the form's
 * default (settings.default_lang), else ja. */
const char *kz_form_lang(const json_t *form, const char *query_lang, const char *accept_language);

/* Which fields to show a visitor: every field that is not progressive, plus the first
 * settings.progressive_max progressive fields whose contact attribute is not known yet.
 * contact may be NULL (an unknown visitor). Returns an array of field objects (borrowed
 * references copied into a new array). */
json_t *kz_form_visible_fields(const json_t *form, const json_t *contact);

/* Validate submitted values against the shown fields. On success *clean holds name → value
 * (strings; booleans for checkbox/consent; arrays for checkboxes) and returns 0. On failure
 * returns -1 and *errors is [{"field","code","message"}] in `lang`. */
int kz_form_check(const json_t *fields, const json_t *values, const char *lang, json_t **clean,
		  json_t **errors);

/* The contact input (kz_contact_upsert) that clean values stand for, with `tags`. */
json_t *kz_form_contact_input(const json_t *fields, const json_t *clean, const json_t *tags);

/* The consent record of a submission: {"field","granted","text":{ja,en},"lang"} for the first
 * consent field, or NULL when the form has none. */
json_t *kz_form_consent(const json_t *fields, const json_t *clean, const char *lang);

/* The name of the form field that maps to contact attribute `attr` ("email",
 * "fields.plan"), or NULL. */
const char *kz_form_field_for(const json_t *fields, const char *attr);

/* A text in lang from a {"ja","en"} object (falls back to the other language, then ""). */
const char *kz_form_text(const json_t *i18n, const char *lang);

#endif
