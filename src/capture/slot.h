/* slot.h — web personalization: content slots (inline, or a pop-up with a trigger and a
 * frequency cap) whose variants carry targeting rules, their validation, and the choice of
 * the variant a visitor sees (no SQL, no HTTP). */
#ifndef KZ_CAPTURE_SLOT_H
#define KZ_CAPTURE_SLOT_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

#define KZ_SLOT_MAX_VARIANTS 20

/* Validate `in` (a POST/PATCH body) into def (the stored definition: name, kind, default,
 * variants, popup, active, description). create=1 requires name and default. 0 or -1 with
 * err (the field says where). */
int kz_slot_apply(json_t *def, const json_t *in, int create, kz_err *err);

/* What is known about the visitor asking for content. */
typedef struct kz_visit {
	int known;            /* tied to a contact */
	int64_t visits;       /* visits so far, this one included (1: a first visit) */
	const char *stage;    /* the contact's lifecycle stage, or NULL */
	int64_t score;        /* the contact's total score (0 when unknown) */
	const char *utm_source, *utm_campaign; /* of this page, else of the visitor's last touch */
	int (*member)(void *ctx, int64_t segment); /* 1 when the contact is in the segment */
	void *ctx;
} kz_visit;

/* 1 when every condition of rule matches v ({} matches everyone). */
int kz_slot_rule_match(const json_t *rule, const kz_visit *v);
/* The first variant whose rule matches, or NULL (show the default). */
const json_t *kz_slot_choose(const json_t *slot, const kz_visit *v);

#endif
