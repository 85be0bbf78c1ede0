/* index.h — the in-memory audience index: each contact's record, score and stage, and its
 * events as day-bucketed counts keyed by event name and the properties filters read.
 * Not thread-safe: the audience engine serialises every call. */
#ifndef KZ_AUDIENCE_INDEX_H
#define KZ_AUDIENCE_INDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audience/filter.h"

typedef struct kz_index kz_index;

/* What evaluation asks the engine: segment membership (one contact, or every member as
 * bits by contact id, *nwords words of them; NULL: none) and the stage order. */
typedef struct kz_index_hooks {
	int (*member)(void *ctx, int64_t segment, int64_t contact);
	const uint64_t *(*member_bits)(void *ctx, int64_t segment, int64_t *nwords);
	int (*stage_rank)(void *ctx, const char *stage);
	void *ctx;
} kz_index_hooks;

kz_index *kz_index_new(void);
void kz_index_free(kz_index *ix);

/* Put or replace a contact's record (taken). */
void kz_index_put_contact(kz_index *ix, int64_t id, json_t *rec);
/* Forget a contact and its events. */
void kz_index_remove_contact(kz_index *ix, int64_t id);
/* 1 when the contact is indexed. */
int kz_index_has(const kz_index *ix, int64_t id);
/* Set members of an indexed contact's record (members taken: an object). */
void kz_index_update_contact(kz_index *ix, int64_t id, json_t *members);
/* The contact's record as the index keeps it (a new object; no nulls, no id), or NULL. */
json_t *kz_index_record(const kz_index *ix, int64_t id);
/* The contact's company id, 0 for none or no such contact. */
int64_t kz_index_company_of(const kz_index *ix, int64_t id);
/* A company's record (taken), for company.<key> conditions. */
void kz_index_put_company(kz_index *ix, int64_t id, json_t *rec);
/* One past the largest contact id ever indexed (bitmap size). */
int64_t kz_index_end(const kz_index *ix);
/* Contacts indexed. */
int64_t kz_index_count(const kz_index *ix);

/* The properties of an event that the index keeps: page views keep url, path, title and
 * referrer; other events their scalar properties. New object. */
json_t *kz_index_event_props(const char *name, const json_t *properties, const json_t *context);
/* Count `n` events named `name` with props (as made by kz_index_event_props) at `at` ms. */
void kz_index_add_event(kz_index *ix, int64_t contact, const char *name, int64_t at,
			const json_t *props, uint32_t n);
/* Drop a contact's events (before reloading them from the store). */
void kz_index_clear_events(kz_index *ix, int64_t contact);

/* Scores by category (the total is their sum) and the stage. */
void kz_index_set_score(kz_index *ix, int64_t contact, const char *category, int64_t points);
int64_t kz_index_score(const kz_index *ix, int64_t contact);
/* Forget every category score of the contact. */
void kz_index_reset_scores(kz_index *ix, int64_t contact);
/* {"category": points, ...}; new object. */
json_t *kz_index_scores(const kz_index *ix, int64_t contact);
void kz_index_set_stage(kz_index *ix, int64_t contact, const char *stage);
/* NULL when the contact has no stage. */
const char *kz_index_stage(const kz_index *ix, int64_t contact);

/* Does the contact match the filter at now_ms? */
int kz_index_match(kz_index *ix, kz_fnode *f, int64_t contact, int64_t now_ms,
		   const kz_index_hooks *h);
/* Every matching contact as bits in `bits` (kz_index_end(ix) bits, cleared first);
 * returns how many matched. */
int64_t kz_index_match_all(kz_index *ix, kz_fnode *f, int64_t now_ms, const kz_index_hooks *h,
			   uint64_t *bits);
/* Bytes held by the index (approximate: allocator overheads are estimated). */
size_t kz_index_memory(const kz_index *ix);

#endif
