/* records.h — validation for companies, custom field definitions, users and API keys. */
#ifndef KZ_MODEL_RECORDS_H
#define KZ_MODEL_RECORDS_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* Apply a company body (name, domain, fields) onto rec; create=1 requires a name. */
int kz_company_apply(json_t *rec, const json_t *in, int create, kz_err *err);
/* Validate a field definition body onto rec; create=1 requires key, label and type. */
int kz_fielddef_apply(json_t *rec, const json_t *in, int create, kz_err *err);
/* Parse a role name ("admin"...) into enum kz_role; 0 when unknown. */
int kz_role_parse(const char *name);
const char *kz_role_name(int role);
/* Apply a user body (email, name, role, password, active); *password_out gets a generated
 * password (malloc'd) when creating without one. */
int kz_user_apply(json_t *rec, const json_t *in, int create, char **password_out, kz_err *err);
/* Create an API key: returns the full secret (malloc'd) and stores only its hash. */
int kz_apikey_create(kz_conn *c, const char *name, int role, int64_t user_id, int64_t *id,
		     char **secret, kz_err *err);
/* Resolve a presented key to its record (NULL when unknown or revoked). */
int kz_apikey_lookup(kz_conn *c, const char *secret, json_t **rec, kz_err *err);

/* Workspace settings with defaults filled in:
 * {"default_country","timezone","sender_name","sender_email","reply_to"}. */
int kz_settings_load(kz_conn *c, const char *default_country, json_t **out, kz_err *err);
/* Validate and store the given settings (unknown keys are refused). */
int kz_settings_apply(kz_conn *c, const json_t *in, kz_err *err);

#endif
