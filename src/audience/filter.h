/* filter.h — the segment filter language: JSON parsed and type-checked into a tree, and the
 * operator semantics on one value (evaluation over contacts lives in index.h). */
#ifndef KZ_AUDIENCE_FILTER_H
#define KZ_AUDIENCE_FILTER_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

#define KZ_FILTER_MAX_DEPTH 32
#define KZ_FILTER_MAX_NODES 1000
#define KZ_DAY_MS ((int64_t)86400000)

typedef enum kz_fkind { KZ_F_ALL, KZ_F_ANY, KZ_F_NOT, KZ_F_FIELD, KZ_F_EVENT, KZ_F_SEGMENT } kz_fkind;

/* The type of a field, which decides the operators it accepts. */
typedef enum kz_ftype {
	KZ_FT_ANY, /* company and event properties: typed by the value at evaluation */
	KZ_FT_STRING,
	KZ_FT_NUMBER,
	KZ_FT_DATE,
	KZ_FT_BOOL,
	KZ_FT_LIST, /* tags, multiselect fields: a set of strings */
	KZ_FT_STAGE /* a lifecycle stage: a string ordered by the stage settings */
} kz_ftype;

typedef enum kz_fop {
	KZ_OP_EQ, KZ_OP_NEQ, KZ_OP_GT, KZ_OP_GTE, KZ_OP_LT, KZ_OP_LTE, KZ_OP_BETWEEN, KZ_OP_IN,
	KZ_OP_NOT_IN, KZ_OP_CONTAINS, KZ_OP_NOT_CONTAINS, KZ_OP_STARTS_WITH, KZ_OP_ENDS_WITH,
	KZ_OP_EXISTS, KZ_OP_NOT_EXISTS, KZ_OP_WITHIN_LAST, KZ_OP_NOT_WITHIN_LAST,
	KZ_OP_ANNIVERSARY_WITHIN, KZ_OP__COUNT
} kz_fop;

/* Where a field condition reads its value from. */
typedef enum kz_fsrc {
	KZ_FS_RECORD,  /* a member (or dotted path) of the contact record */
	KZ_FS_CUSTOM,  /* fields.<key> */
	KZ_FS_COMPANY, /* company.<key> */
	KZ_FS_SCORE,   /* score (key NULL) or score.<category> */
	KZ_FS_STAGE,
	KZ_FS_LAST_SEEN
} kz_fsrc;

/* One comparison: an operator and its pre-parsed operand(s). */
typedef struct kz_fcmp {
	kz_ftype type;
	kz_fop op;
	json_t *value;    /* the operand as given (strings, arrays) */
	double num[2];    /* numbers / between */
	int64_t ms[2];    /* dates / between, epoch ms */
	int date_only[2]; /* the date operand had no time: whole UTC days */
	int64_t days;     /* within_last, not_within_last, anniversary_within */
} kz_fcmp;

typedef struct kz_fwhere {
	char *prop;
	kz_fcmp cmp;
} kz_fwhere;

typedef struct kz_fnode {
	kz_fkind kind;
	struct kz_fnode **kids; /* all / any / not (one) */
	int nkids;
	/* field */
	kz_fsrc src;
	char *field; /* as written */
	char *key;   /* record member/path, custom or company key, score category */
	kz_fcmp cmp;
	/* event */
	char *event;
	kz_fwhere *where;
	int nwhere;
	kz_fop count_op;
	int64_t count;
	int64_t within_days; /* 0: all time */
	/* evaluation caches, owned by the index (see index.c) */
	int name_id;
	unsigned char *pmatch;
	size_t npmatch;
	int col;            /* 1 + the typed column of index col_of for this field; 0: not looked up */
	const void *col_of; /* the index col belongs to */
	/* segment */
	int64_t segment;
	int member;
} kz_fnode;

/* What validation needs from the outside world. */
typedef struct kz_filter_env {
	const json_t *field_defs; /* custom field definitions ([{key,type,...}]) */
	/* 0 when segment `id` exists and may be referenced here (no cycle); else -1 + err. */
	int (*segment_ok)(void *ctx, int64_t id, kz_err *err);
	void *ctx;
} kz_filter_env;

/* Parse and type-check a filter. On failure err is 422 "invalid_filter" and err->field is a
 * JSON pointer into the filter ("/all/2/value"), prefixed with `base` (e.g. "/filter"). */
kz_fnode *kz_filter_parse(const json_t *in, const kz_filter_env *env, const char *base,
			  kz_err *err);
void kz_filter_free(kz_fnode *n);
/* Every segment id the filter references, appended to *ids (realloc'd; *n updated). */
void kz_filter_refs(const kz_fnode *n, int64_t **ids, int *nids);
/* 1 when the filter's result can change with the clock alone (sliding windows). */
int kz_filter_timed(const kz_fnode *n);

/* A value to compare: what a field or property holds. */
typedef struct kz_fval {
	enum { KZ_V_MISSING, KZ_V_STR, KZ_V_NUM, KZ_V_BOOL, KZ_V_MS, KZ_V_LIST } t;
	const char *s;
	double num;
	int b;
	int64_t ms;
	const json_t *list; /* array of strings */
} kz_fval;

/* A JSON value as a kz_fval of the given type (dates from ISO strings). */
kz_fval kz_fval_of(const json_t *v, kz_ftype type);
/* Does v satisfy the comparison at time now_ms? stage_rank maps a stage name to its order
 * (-1 unknown) for KZ_FT_STAGE comparisons; may be NULL otherwise. */
int kz_fcmp_match(const kz_fcmp *c, const kz_fval *v, int64_t now_ms,
		  int (*stage_rank)(void *ctx, const char *stage), void *ctx);
/* Operator name ↔ value. */
const char *kz_fop_name(kz_fop op);

#endif
