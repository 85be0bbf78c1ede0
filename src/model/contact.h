/* contact.h — contact records: validation, cleansing, upsert/patch/merge rules (no SQL, no HTTP). */
#ifndef KZ_MODEL_CONTACT_H
#define KZ_MODEL_CONTACT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* How input is applied to a contact. */
enum kz_apply_mode {
	KZ_APPLY_CREATE, /* a new contact */
	KZ_APPLY_UPSERT, /* POST on an existing email: tags unioned, given fields overwritten */
	KZ_APPLY_PATCH,  /* PATCH: given fields overwritten, a tags array replaces */
};

/* Options that shape validation. */
typedef struct kz_contact_opts {
	const char *default_country; /* for phones, e.g. "JP" */
	const json_t *field_defs;    /* array of field definitions (kz_store_field_list) */
	int lenient_strings;         /* CSV import: "12" is a number, "yes" a boolean */
} kz_contact_opts;

/* Create or update by normalized email (POST /contacts). *created is 1 for a new contact.
 * Runs inside the caller's write transaction. */
int kz_contact_upsert(kz_conn *c, const json_t *in, const kz_contact_opts *o, int *created,
		      int64_t *id, kz_err *err);
/* Partial update of contact `id` (PATCH). */
int kz_contact_patch(kz_conn *c, int64_t id, const json_t *in, const kz_contact_opts *o,
		     kz_err *err);
/* Merge contact `from` into `into`: tags union, `into` wins where both set; `from` is deleted. */
int kz_contact_merge(kz_conn *c, int64_t into, int64_t from, kz_err *err);
/* Validate one custom field value against its definition; *out is the normalized value.
 * Phone fields use JP as their default country; see kz_field_value_check_cc. */
int kz_field_value_check(const json_t *def, const json_t *v, int lenient, json_t **out,
			 kz_err *err);
/* The same with the workspace's default country for phone fields. */
int kz_field_value_check_cc(const json_t *def, const json_t *v, int lenient, const char *country,
			    json_t **out, kz_err *err);
/* A listener for contact changes made through this module, called once the transaction
 * that made them commits (deleted=1: the contact is gone; 2: it absorbed another contact in
 * a merge, with its events, scores and stage history). One listener; NULL removes it. */
typedef void (*kz_contact_change_fn)(void *ctx, int64_t id, int deleted);
void kz_contact_on_change(kz_contact_change_fn fn, void *ctx);
/* The same for companies (the audience index keeps company fields for company.* filters):
 * fn(ctx, company_id, deleted) after the commit that changed it. One listener; NULL removes. */
void kz_company_on_change(kz_contact_change_fn fn, void *ctx);
/* Call inside the write transaction that saved or deleted company `id`. */
void kz_company_changed(kz_conn *c, int64_t id, int deleted);
/* Delete a contact and everything tied to it (and tell the listener). */
int kz_contact_delete(kz_conn *c, int64_t id, kz_err *err);
/* Normalize a company domain ("https://www.Example.co.jp/x" → "example.co.jp"); malloc'd. */
char *kz_domain_normalize(const char *in);

#endif
