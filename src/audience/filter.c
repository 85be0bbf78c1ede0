/* filter.c — parsing and type-checking segment filters, and what each operator means. */
#include "audience/filter.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/timeutil.h"

#include "base/banned.h"

static const char *const op_names[KZ_OP__COUNT] = {
	"eq",	    "neq",	    "gt",	      "gte",	    "lt",
	"lte",	    "between",	    "in",	      "not_in",	    "contains",
	"not_contains", "starts_with", "ends_with",   "exists",	    "not_exists",
	"within_last",	"not_within_last", "anniversary_within",
};

const char *kz_fop_name(kz_fop op)
{
	return op >= 0 && op < KZ_OP__COUNT ? op_names[op] : "?";
}

#define OPBIT(o) (1u << (o))
#define OPS_STRING                                                                                 \
	(OPBIT(KZ_OP_EQ) | OPBIT(KZ_OP_NEQ) | OPBIT(KZ_OP_IN) | OPBIT(KZ_OP_NOT_IN) |              \
	 OPBIT(KZ_OP_CONTAINS) | OPBIT(KZ_OP_NOT_CONTAINS) | OPBIT(KZ_OP_STARTS_WITH) |           \
	 OPBIT(KZ_OP_ENDS_WITH) | OPBIT(KZ_OP_EXISTS) | OPBIT(KZ_OP_NOT_EXISTS))
#define OPS_ORDER                                                                                  \
	(OPBIT(KZ_OP_EQ) | OPBIT(KZ_OP_NEQ) | OPBIT(KZ_OP_GT) | OPBIT(KZ_OP_GTE) | OPBIT(KZ_OP_LT) | \
	 OPBIT(KZ_OP_LTE) | OPBIT(KZ_OP_BETWEEN) | OPBIT(KZ_OP_EXISTS) | OPBIT(KZ_OP_NOT_EXISTS))

static unsigned ops_of(kz_ftype t)
{
	switch (t) {
	case KZ_FT_STRING:
		return OPS_STRING;
	case KZ_FT_NUMBER:
		return OPS_ORDER | OPBIT(KZ_OP_IN) | OPBIT(KZ_OP_NOT_IN);
	case KZ_FT_DATE:
		return OPS_ORDER | OPBIT(KZ_OP_WITHIN_LAST) | OPBIT(KZ_OP_NOT_WITHIN_LAST) |
		       OPBIT(KZ_OP_ANNIVERSARY_WITHIN);
	case KZ_FT_BOOL:
		return OPBIT(KZ_OP_EQ) | OPBIT(KZ_OP_NEQ) | OPBIT(KZ_OP_EXISTS) |
		       OPBIT(KZ_OP_NOT_EXISTS);
	case KZ_FT_LIST:
		return OPBIT(KZ_OP_CONTAINS) | OPBIT(KZ_OP_NOT_CONTAINS) | OPBIT(KZ_OP_IN) |
		       OPBIT(KZ_OP_NOT_IN) | OPBIT(KZ_OP_EXISTS) | OPBIT(KZ_OP_NOT_EXISTS);
	case KZ_FT_STAGE:
		return (OPS_ORDER & ~OPBIT(KZ_OP_BETWEEN)) | OPBIT(KZ_OP_IN) | OPBIT(KZ_OP_NOT_IN);
	case KZ_FT_ANY:
	default:
		return ~0u;
	}
}

static const char *type_name(kz_ftype t)
{
	static const char *const n[] = {"any", "text", "number", "date", "boolean", "list", "stage"};
	return n[t];
}

/* ---- parsing ---- */

typedef struct pctx {
	const kz_filter_env *env;
	kz_err *err;
	int nodes;
	char ptr[96];
} pctx;

/* Errors name the node by JSON pointer: ptr is the path of the node being parsed. */
static int fail(pctx *p, const char *suffix, const char *fmt, const char *a, const char *b)
{
	char msg[sizeof p->err->message];
	/* Both may be cut (a long quoted value, a deep pointer): the lengths are checked so the
	 * compiler knows the cut is meant. */
	if (snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "") >= (int)sizeof msg)
		msg[sizeof msg - 1] = '\0';
	kz_err_set(p->err, 422, "invalid_filter", NULL, "%s", msg);
	if (snprintf(p->err->field, sizeof p->err->field, "%s%s", p->ptr, suffix ? suffix : "") >=
	    (int)sizeof p->err->field)
		p->err->field[sizeof p->err->field - 1] = '\0';
	return -1;
}

/* Push a pointer segment; returns the old length for pop. */
static size_t push(pctx *p, const char *seg)
{
	size_t len = strlen(p->ptr);
	snprintf(p->ptr + len, sizeof p->ptr - len, "/%s", seg);
	return len;
}

static void pop(pctx *p, size_t len)
{
	p->ptr[len] = '\0';
}

static int parse_op(pctx *p, const json_t *v, const char *suffix, kz_fop *out)
{
	const char *s = json_string_value(v);
	for (int i = 0; s && i < KZ_OP__COUNT; i++)
		if (!strcmp(s, op_names[i])) {
			*out = (kz_fop)i;
			return 0;
		}
	return fail(p, suffix, "op must be one of eq, neq, gt, gte, lt, lte, between, in, not_in, "
			       "contains, not_contains, starts_with, ends_with, exists, not_exists, "
			       "within_last, not_within_last, anniversary_within%s%s",
		    NULL, NULL);
}

/* One scalar operand of the comparison's type into slot i (for dates and numbers). */
static int scalar(pctx *p, kz_fcmp *c, const json_t *v, int i, const char *at)
{
	switch (c->type) {
	case KZ_FT_NUMBER:
		if (!json_is_number(v))
			return fail(p, at, "value must be a number for this field%s%s", NULL, NULL);
		c->num[i] = json_number_value(v);
		return 0;
	case KZ_FT_DATE: {
		const char *s = json_string_value(v);
		if (!s || kz_time_parse_iso(s, &c->ms[i]) < 0)
			return fail(p, at,
				    "value must be an ISO 8601 date or time such as 2026-11-24 or "
				    "2026-11-24T09:00:00+09:00%s%s",
				    NULL, NULL);
		c->date_only[i] = strlen(s) == 10;
		return 0;
	}
	case KZ_FT_BOOL:
		if (!json_is_boolean(v))
			return fail(p, at, "value must be true or false%s%s", NULL, NULL);
		return 0;
	case KZ_FT_ANY:
		if (json_is_number(v)) {
			c->num[i] = json_number_value(v);
			return 0;
		}
		if (json_is_string(v)) {
			c->date_only[i] = kz_time_parse_iso(json_string_value(v), &c->ms[i]) == 0 &&
					  strlen(json_string_value(v)) == 10;
			return 0;
		}
		if (json_is_boolean(v))
			return 0;
		return fail(p, at, "value must be a string, a number or a boolean%s%s", NULL, NULL);
	default:
		if (!json_is_string(v) || !*json_string_value(v))
			return fail(p, at, "value must be a non-empty string%s%s", NULL, NULL);
		return 0;
	}
}

static int days_arg(pctx *p, kz_fcmp *c, const json_t *v)
{
	const json_t *d = json_object_get(v, "days");
	int64_t max = c->op == KZ_OP_ANNIVERSARY_WITHIN ? 366 : 36500;
	if (!json_is_object(v) || !json_is_integer(d) || json_integer_value(d) < 0 ||
	    json_integer_value(d) > max || json_object_size(v) != 1)
		return fail(p, "/value", "%s takes {\"days\": N} with N a whole number of days%s",
			    op_names[c->op], NULL);
	c->days = json_integer_value(d);
	return 0;
}

/* Type-check op and value for a field of type `type`. `v` may be NULL (no value given). */
static int parse_cmp(pctx *p, kz_ftype type, const json_t *opv, const json_t *v, kz_fcmp *c,
		     const char *what)
{
	memset(c, 0, sizeof *c);
	c->type = type;
	if (parse_op(p, opv, "/op", &c->op) < 0)
		return -1;
	if (!(ops_of(type) & OPBIT(c->op)))
		return fail(p, "/op", "%s does not apply to a field of type %s", op_names[c->op],
			    type_name(type));
	switch (c->op) {
	case KZ_OP_EXISTS:
	case KZ_OP_NOT_EXISTS:
		if (v && !json_is_null(v))
			return fail(p, "/value", "%s takes no value%s", op_names[c->op], NULL);
		return 0;
	case KZ_OP_WITHIN_LAST:
	case KZ_OP_NOT_WITHIN_LAST:
	case KZ_OP_ANNIVERSARY_WITHIN:
		if (type == KZ_FT_ANY && !v)
			return fail(p, "/value", "%s needs a value%s", op_names[c->op], NULL);
		if (days_arg(p, c, v) < 0)
			return -1;
		break;
	case KZ_OP_BETWEEN:
		if (!json_is_array(v) || json_array_size(v) != 2)
			return fail(p, "/value", "between takes [low, high]%s%s", NULL, NULL);
		if (scalar(p, c, json_array_get(v, 0), 0, "/value/0") < 0 ||
		    scalar(p, c, json_array_get(v, 1), 1, "/value/1") < 0)
			return -1;
		break;
	case KZ_OP_IN:
	case KZ_OP_NOT_IN: {
		size_t i;
		json_t *x;
		char at[32];
		kz_fcmp tmp = *c;
		if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 1000)
			return fail(p, "/value", "%s takes a list of 1 to 1000 values%s",
				    op_names[c->op], NULL);
		if (type == KZ_FT_LIST || type == KZ_FT_STAGE)
			tmp.type = KZ_FT_STRING;
		json_array_foreach(v, i, x)
		{
			snprintf(at, sizeof at, "/value/%zu", i);
			if (scalar(p, &tmp, x, 0, at) < 0)
				return -1;
		}
		break;
	}
	case KZ_OP_CONTAINS:
	case KZ_OP_NOT_CONTAINS:
	case KZ_OP_STARTS_WITH:
	case KZ_OP_ENDS_WITH:
		if (!json_is_string(v) || !*json_string_value(v))
			return fail(p, "/value", "%s takes a non-empty string%s", op_names[c->op],
				    NULL);
		break;
	default:
		if (!v)
			return fail(p, "/value", "%s needs a value%s", op_names[c->op], NULL);
		if (scalar(p, c, v, 0, "/value") < 0)
			return -1;
	}
	(void)what;
	c->value = v ? json_incref((json_t *)v) : NULL;
	return 0;
}

static kz_ftype custom_type(const char *t)
{
	if (!t)
		return KZ_FT_ANY;
	if (!strcmp(t, "number"))
		return KZ_FT_NUMBER;
	if (!strcmp(t, "date") || !strcmp(t, "datetime"))
		return KZ_FT_DATE;
	if (!strcmp(t, "boolean"))
		return KZ_FT_BOOL;
	if (!strcmp(t, "multiselect"))
		return KZ_FT_LIST;
	return KZ_FT_STRING;
}

static const struct builtin {
	const char *name;
	kz_fsrc src;
	kz_ftype type;
} builtins[] = {
	{"email", KZ_FS_RECORD, KZ_FT_STRING},
	{"first_name", KZ_FS_RECORD, KZ_FT_STRING},
	{"last_name", KZ_FS_RECORD, KZ_FT_STRING},
	{"first_name_kana", KZ_FS_RECORD, KZ_FT_STRING},
	{"last_name_kana", KZ_FS_RECORD, KZ_FT_STRING},
	{"phone", KZ_FS_RECORD, KZ_FT_STRING},
	{"timezone", KZ_FS_RECORD, KZ_FT_STRING},
	{"locale", KZ_FS_RECORD, KZ_FT_STRING},
	{"tags", KZ_FS_RECORD, KZ_FT_LIST},
	{"owner", KZ_FS_RECORD, KZ_FT_NUMBER},
	{"company_id", KZ_FS_RECORD, KZ_FT_NUMBER},
	{"created_at", KZ_FS_RECORD, KZ_FT_DATE},
	{"updated_at", KZ_FS_RECORD, KZ_FT_DATE},
	{"stage", KZ_FS_STAGE, KZ_FT_STAGE},
	{"score", KZ_FS_SCORE, KZ_FT_NUMBER},
	{"last_seen", KZ_FS_LAST_SEEN, KZ_FT_DATE},
};

static const char *const touch_keys[] = {"source", "medium", "campaign", "term", "content",
					 "landing_url", "referrer_domain", NULL};

static int valid_key(const char *k)
{
	if (!*k || strlen(k) > 64)
		return 0;
	for (const char *c = k; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return 0;
	return 1;
}

static const json_t *find_def(const json_t *defs, const char *key)
{
	size_t i;
	json_t *d;
	json_array_foreach(defs, i, d)
	{
		const char *k = json_string_value(json_object_get(d, "key"));
		if (k && !strcmp(k, key))
			return d;
	}
	return NULL;
}

/* Resolve a field name to its source, key and type. */
static int resolve_field(pctx *p, kz_fnode *n, const char *f, kz_ftype *type)
{
	const char *dot = strchr(f, '.');
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (!strcmp(f, builtins[i].name)) {
			n->src = builtins[i].src;
			n->key = builtins[i].src == KZ_FS_RECORD ? strdup(f) : NULL;
			*type = builtins[i].type;
			return 0;
		}
	if (dot && valid_key(dot + 1)) {
		size_t plen = (size_t)(dot - f);
		const char *k = dot + 1;
		if (plen == 6 && !strncmp(f, "fields", 6)) {
			const json_t *def = find_def(p->env ? p->env->field_defs : NULL, k);
			if (!def)
				return fail(p, "/field", "there is no custom field %s; see GET /api/v1/fields%s",
					    f, NULL);
			n->src = KZ_FS_CUSTOM;
			*type = custom_type(json_string_value(json_object_get(def, "type")));
		} else if (plen == 7 && !strncmp(f, "company", 7)) {
			n->src = KZ_FS_COMPANY;
			*type = !strcmp(k, "name") || !strcmp(k, "domain") ? KZ_FT_STRING : KZ_FT_ANY;
		} else if (plen == 5 && !strncmp(f, "score", 5)) {
			n->src = KZ_FS_SCORE;
			*type = KZ_FT_NUMBER;
		} else if ((plen == 11 && !strncmp(f, "first_touch", 11)) ||
			   (plen == 10 && !strncmp(f, "last_touch", 10))) {
			int ok = 0;
			for (int i = 0; touch_keys[i]; i++)
				ok |= !strcmp(k, touch_keys[i]);
			if (!ok)
				return fail(p, "/field",
					    "%s: a touch has source, medium, campaign, term, content, "
					    "landing_url and referrer_domain%s",
					    f, NULL);
			n->src = KZ_FS_RECORD;
			*type = KZ_FT_STRING;
			n->key = strdup(f);
			return 0;
		} else if (plen == 7 && !strncmp(f, "consent", 7)) {
			n->src = KZ_FS_RECORD;
			*type = KZ_FT_BOOL;
			n->key = strdup(f);
			return 0;
		} else {
			goto unknown;
		}
		n->key = strdup(k);
		return 0;
	}
unknown:
	return fail(p, "/field",
		    "unknown field %s: use a built-in (email, tags, score, stage, created_at, ...), "
		    "fields.<key>, company.<key> or score.<category>%s",
		    f, NULL);
}

static kz_fnode *parse_node(pctx *p, const json_t *in, int depth);

static int only_keys(pctx *p, const json_t *in, const char *const *allowed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		int ok = 0;
		(void)v;
		for (int i = 0; allowed[i]; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok) {
			char seg[80];
			snprintf(seg, sizeof seg, "/%s", k);
			return fail(p, seg, "unknown member %s in this condition%s", k, NULL);
		}
	}
	return 0;
}

static int parse_group(pctx *p, kz_fnode *n, const char *key, const json_t *arr, int depth)
{
	size_t i, len = push(p, key);
	json_t *x;
	char seg[24];
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		pop(p, len);
		return fail(p, key[0] == 'a' && key[1] == 'l' ? "/all" : "/any",
			    "%s takes a non-empty list of conditions%s", key, NULL);
	}
	n->kids = calloc(json_array_size(arr), sizeof *n->kids);
	json_array_foreach(arr, i, x)
	{
		size_t l2;
		snprintf(seg, sizeof seg, "%zu", i);
		l2 = push(p, seg);
		n->kids[i] = parse_node(p, x, depth + 1);
		pop(p, l2);
		if (!n->kids[i]) {
			pop(p, len);
			return -1;
		}
		n->nkids++;
	}
	pop(p, len);
	return 0;
}

static int parse_field(pctx *p, kz_fnode *n, const json_t *in)
{
	static const char *const keys[] = {"field", "op", "value", NULL};
	const char *f = json_string_value(json_object_get(in, "field"));
	kz_ftype type = (kz_ftype)0; /* resolve_field sets it, or fails */
	if (only_keys(p, in, keys) < 0)
		return -1;
	if (!f || !*f)
		return fail(p, "/field", "field must be a field name such as email or fields.plan%s",
			    NULL, NULL);
	n->kind = KZ_F_FIELD;
	n->field = strdup(f);
	if (resolve_field(p, n, f, &type) < 0)
		return -1;
	return parse_cmp(p, type, json_object_get(in, "op"), json_object_get(in, "value"), &n->cmp,
			 f);
}

static int parse_where(pctx *p, kz_fnode *n, const json_t *where)
{
	size_t i, len;
	json_t *w;
	char seg[24];
	if (!where)
		return 0;
	if (!json_is_array(where) || json_array_size(where) > 20)
		return fail(p, "/where", "where takes a list of up to 20 {prop, op, value}%s%s", NULL,
			    NULL);
	n->where = calloc(json_array_size(where) + 1, sizeof *n->where);
	len = push(p, "where");
	json_array_foreach(where, i, w)
	{
		static const char *const keys[] = {"prop", "op", "value", NULL};
		const char *prop = json_string_value(json_object_get(w, "prop"));
		size_t l2;
		snprintf(seg, sizeof seg, "%zu", i);
		l2 = push(p, seg);
		if (!json_is_object(w) || only_keys(p, w, keys) < 0 || !prop || !*prop ||
		    strlen(prop) > 64) {
			if (!p->err->status)
				fail(p, "/prop", "each where item needs prop (a property name)%s%s",
				     NULL, NULL);
			pop(p, len);
			return -1;
		}
		n->where[n->nwhere].prop = strdup(prop);
		n->nwhere++;
		if (parse_cmp(p, KZ_FT_ANY, json_object_get(w, "op"), json_object_get(w, "value"),
			      &n->where[n->nwhere - 1].cmp, prop) < 0) {
			pop(p, len);
			return -1;
		}
		pop(p, l2);
	}
	pop(p, len);
	return 0;
}

static int parse_event(pctx *p, kz_fnode *n, const json_t *in)
{
	static const char *const keys[] = {"event", "where", "count", "within_days", NULL};
	const char *ev = json_string_value(json_object_get(in, "event"));
	const json_t *count = json_object_get(in, "count"), *win = json_object_get(in, "within_days");
	if (only_keys(p, in, keys) < 0)
		return -1;
	n->kind = KZ_F_EVENT;
	n->name_id = -1;
	if (!ev || !*ev || strlen(ev) > 200)
		return fail(p, "/event", "event must be an event name such as page_view%s%s", NULL,
			    NULL);
	n->event = strdup(ev);
	n->count_op = KZ_OP_GTE;
	n->count = 1;
	if (count) {
		const json_t *cv = json_object_get(count, "value");
		size_t len = push(p, "count");
		if (!json_is_object(count) || parse_op(p, json_object_get(count, "op"), "/op",
						       &n->count_op) < 0) {
			if (!p->err->status)
				fail(p, NULL, "count takes {\"op\": \"gte\", \"value\": 3}%s%s", NULL,
				     NULL);
			pop(p, len);
			return -1;
		}
		if (n->count_op > KZ_OP_LTE) {
			fail(p, "/op", "count's op is one of eq, neq, gt, gte, lt, lte%s%s", NULL, NULL);
			pop(p, len);
			return -1;
		}
		if (!json_is_integer(cv) || json_integer_value(cv) < 0) {
			fail(p, "/value", "count's value is a whole number ≥ 0%s%s", NULL, NULL);
			pop(p, len);
			return -1;
		}
		n->count = json_integer_value(cv);
		pop(p, len);
	}
	if (win) {
		if (!json_is_integer(win) || json_integer_value(win) < 1 ||
		    json_integer_value(win) > 3650)
			return fail(p, "/within_days", "within_days is a whole number from 1 to 3650%s%s",
				    NULL, NULL);
		n->within_days = json_integer_value(win);
	}
	return parse_where(p, n, json_object_get(in, "where"));
}

static int parse_segment(pctx *p, kz_fnode *n, const json_t *in)
{
	static const char *const keys[] = {"segment", "member", NULL};
	const json_t *id = json_object_get(in, "segment"), *m = json_object_get(in, "member");
	if (only_keys(p, in, keys) < 0)
		return -1;
	n->kind = KZ_F_SEGMENT;
	if (!json_is_integer(id) || json_integer_value(id) <= 0)
		return fail(p, "/segment", "segment must be a segment id%s%s", NULL, NULL);
	if (m && !json_is_boolean(m))
		return fail(p, "/member", "member must be true or false%s%s", NULL, NULL);
	n->segment = json_integer_value(id);
	n->member = m ? json_is_true(m) : 1;
	if (p->env && p->env->segment_ok && p->env->segment_ok(p->env->ctx, n->segment, p->err) < 0) {
		char msg[sizeof p->err->message];
		snprintf(msg, sizeof msg, "%s", p->err->message);
		return fail(p, "/segment", "%s%s", msg, NULL);
	}
	return 0;
}

static kz_fnode *parse_node(pctx *p, const json_t *in, int depth)
{
	kz_fnode *n;
	int rc;
	if (depth > KZ_FILTER_MAX_DEPTH) {
		fail(p, NULL, "conditions nest too deeply (at most 32 levels)%s%s", NULL, NULL);
		return NULL;
	}
	if (++p->nodes > KZ_FILTER_MAX_NODES) {
		fail(p, NULL, "a filter holds at most 1000 conditions%s%s", NULL, NULL);
		return NULL;
	}
	if (!json_is_object(in)) {
		fail(p, NULL, "a condition is an object: {all}, {any}, {not}, {field}, {event} or "
			      "{segment}%s%s",
		     NULL, NULL);
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (json_object_get(in, "all") || json_object_get(in, "any")) {
		const char *key = json_object_get(in, "all") ? "all" : "any";
		n->kind = key[1] == 'l' ? KZ_F_ALL : KZ_F_ANY;
		rc = json_object_size(in) != 1
			     ? fail(p, NULL, "a group holds only %s%s", key, NULL)
			     : parse_group(p, n, key, json_object_get(in, key), depth);
	} else if (json_object_get(in, "not")) {
		size_t len;
		n->kind = KZ_F_NOT;
		if (json_object_size(in) != 1) {
			rc = fail(p, NULL, "a not holds only not%s%s", NULL, NULL);
		} else {
			n->kids = calloc(1, sizeof *n->kids);
			len = push(p, "not");
			n->kids[0] = parse_node(p, json_object_get(in, "not"), depth + 1);
			pop(p, len);
			n->nkids = n->kids[0] != NULL;
			rc = n->kids[0] ? 0 : -1;
		}
	} else if (json_object_get(in, "field")) {
		rc = parse_field(p, n, in);
	} else if (json_object_get(in, "event")) {
		rc = parse_event(p, n, in);
	} else if (json_object_get(in, "segment")) {
		rc = parse_segment(p, n, in);
	} else {
		rc = fail(p, NULL, "a condition needs all, any, not, field, event or segment%s%s",
			  NULL, NULL);
	}
	if (rc < 0) {
		kz_filter_free(n);
		return NULL;
	}
	return n;
}

kz_fnode *kz_filter_parse(const json_t *in, const kz_filter_env *env, const char *base,
			  kz_err *err)
{
	pctx p;
	memset(&p, 0, sizeof p);
	p.env = env;
	p.err = err;
	kz_err_clear(err);
	snprintf(p.ptr, sizeof p.ptr, "%s", base ? base : "");
	return parse_node(&p, in, 0);
}

void kz_filter_free(kz_fnode *n)
{
	if (!n)
		return;
	for (int i = 0; i < n->nkids; i++)
		kz_filter_free(n->kids[i]);
	free(n->kids);
	free(n->field);
	free(n->key);
	json_decref(n->cmp.value);
	free(n->event);
	for (int i = 0; i < n->nwhere; i++) {
		free(n->where[i].prop);
		json_decref(n->where[i].cmp.value);
	}
	free(n->where);
	free(n->pmatch);
	free(n);
}

void kz_filter_refs(const kz_fnode *n, int64_t **ids, int *nids)
{
	if (!n)
		return;
	if (n->kind == KZ_F_SEGMENT) {
		int64_t *grown = realloc(*ids, (size_t)(*nids + 1) * sizeof **ids);
		if (!grown)
			return;
		*ids = grown;
		(*ids)[(*nids)++] = n->segment;
	}
	for (int i = 0; i < n->nkids; i++)
		kz_filter_refs(n->kids[i], ids, nids);
}

int kz_filter_timed(const kz_fnode *n)
{
	if (!n)
		return 0;
	if (n->kind == KZ_F_EVENT && n->within_days)
		return 1;
	if (n->kind == KZ_F_FIELD && n->cmp.type != KZ_FT_STRING && n->cmp.type != KZ_FT_BOOL)
		return 1; /* dates against now; anniversaries */
	for (int i = 0; i < n->nkids; i++)
		if (kz_filter_timed(n->kids[i]))
			return 1;
	return 0;
}

/* ---- operator semantics ---- */

kz_fval kz_fval_of(const json_t *v, kz_ftype type)
{
	kz_fval r;
	memset(&r, 0, sizeof r);
	if (!v || json_is_null(v))
		return r;
	if (json_is_array(v)) {
		r.t = KZ_V_LIST;
		r.list = v;
	} else if (json_is_number(v)) {
		r.t = KZ_V_NUM;
		r.num = json_number_value(v);
	} else if (json_is_boolean(v)) {
		r.t = KZ_V_BOOL;
		r.b = json_is_true(v);
	} else if (json_is_string(v)) {
		r.t = KZ_V_STR;
		r.s = json_string_value(v);
		if (type == KZ_FT_DATE && kz_time_parse_iso(r.s, &r.ms) == 0)
			r.t = KZ_V_MS;
		else if (type == KZ_FT_DATE)
			r.t = KZ_V_MISSING;
	}
	return r;
}

static int ci_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
	return *a == *b;
}

static int ci_prefix(const char *s, const char *pre)
{
	for (; *pre; s++, pre++)
		if (!*s || tolower((unsigned char)*s) != tolower((unsigned char)*pre))
			return 0;
	return 1;
}

static int ci_contains(const char *s, const char *sub)
{
	for (; *s; s++)
		if (ci_prefix(s, sub))
			return 1;
	return !*sub;
}

static int ci_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && ci_eq(s + a - b, suf);
}

static int list_has(const json_t *list, const char *s)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) if (json_is_string(x) && ci_eq(json_string_value(x), s)) return 1;
	return 0;
}

static int64_t day_of(int64_t ms)
{
	return ms >= 0 ? ms / KZ_DAY_MS : (ms - KZ_DAY_MS + 1) / KZ_DAY_MS;
}

/* Days from today until the next anniversary (month/day) of `ms`; Feb 29 falls on Feb 28. */
static int64_t days_to_anniversary(int64_t ms, int64_t now)
{
	time_t t = (time_t)(ms / 1000), n = (time_t)(now / 1000);
	struct tm a, b;
	int64_t today = day_of(now);
	gmtime_r(&t, &a);
	gmtime_r(&n, &b);
	for (int y = b.tm_year + 1900; y <= b.tm_year + 1901; y++) {
		char s[48];
		int64_t at;
		int d = a.tm_mday;
		snprintf(s, sizeof s, "%04d-%02d-%02d", y, a.tm_mon + 1, d);
		if (kz_date_valid(s) < 0)
			snprintf(s, sizeof s, "%04d-%02d-%02d", y, a.tm_mon + 1, d - 1);
		if (kz_time_parse_iso(s, &at) == 0 && day_of(at) >= today)
			return day_of(at) - today;
	}
	return 400;
}

/* Compare two numbers (or ranks) by an ordering op. */
static int cmp_num(kz_fop op, double v, double a, double b)
{
	switch (op) {
	case KZ_OP_EQ:
		return v == a;
	case KZ_OP_NEQ:
		return v != a;
	case KZ_OP_GT:
		return v > a;
	case KZ_OP_GTE:
		return v >= a;
	case KZ_OP_LT:
		return v < a;
	case KZ_OP_LTE:
		return v <= a;
	case KZ_OP_BETWEEN:
		return v >= a && v <= b;
	default:
		return 0;
	}
}

static int match_date(const kz_fcmp *c, int64_t v, int64_t now)
{
	int64_t a = c->ms[0], b = c->ms[1];
	int64_t a_end = c->date_only[0] ? a + KZ_DAY_MS : a + 1;
	int64_t b_end = c->date_only[1] ? b + KZ_DAY_MS : b + 1;
	switch (c->op) {
	case KZ_OP_EQ:
		return c->date_only[0] ? v >= a && v < a_end : v == a;
	case KZ_OP_NEQ:
		return !(c->date_only[0] ? v >= a && v < a_end : v == a);
	case KZ_OP_GT:
		return v >= a_end;
	case KZ_OP_GTE:
		return v >= a;
	case KZ_OP_LT:
		return v < a;
	case KZ_OP_LTE:
		return v < a_end;
	case KZ_OP_BETWEEN:
		return v >= a && v < b_end;
	case KZ_OP_WITHIN_LAST:
		return v >= now - c->days * KZ_DAY_MS && v <= now;
	case KZ_OP_NOT_WITHIN_LAST:
		return v < now - c->days * KZ_DAY_MS;
	case KZ_OP_ANNIVERSARY_WITHIN:
		return days_to_anniversary(v, now) <= c->days;
	default:
		return 0;
	}
}

/* Does string s equal any member of the operand list? */
static int in_list(const json_t *list, const char *s, double num, int is_num)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		if (is_num ? json_is_number(x) && json_number_value(x) == num
			   : json_is_string(x) && ci_eq(json_string_value(x), s))
			return 1;
	}
	return 0;
}

static int match_list(const kz_fcmp *c, const json_t *list)
{
	size_t i;
	json_t *x;
	switch (c->op) {
	case KZ_OP_CONTAINS:
		return list_has(list, json_string_value(c->value));
	case KZ_OP_NOT_CONTAINS:
		return !list_has(list, json_string_value(c->value));
	case KZ_OP_IN:
	case KZ_OP_NOT_IN: {
		int any = 0;
		json_array_foreach(c->value, i, x) if (json_is_string(x) &&
						       list_has(list, json_string_value(x))) any = 1;
		return c->op == KZ_OP_IN ? any : !any;
	}
	default:
		return 0;
	}
}

static int match_str(const kz_fcmp *c, const char *s)
{
	const char *o = json_string_value(c->value);
	switch (c->op) {
	case KZ_OP_EQ:
		return o && ci_eq(s, o);
	case KZ_OP_NEQ:
		return !o || !ci_eq(s, o);
	case KZ_OP_IN:
		return in_list(c->value, s, 0, 0);
	case KZ_OP_NOT_IN:
		return !in_list(c->value, s, 0, 0);
	case KZ_OP_CONTAINS:
		return ci_contains(s, o);
	case KZ_OP_NOT_CONTAINS:
		return !ci_contains(s, o);
	case KZ_OP_STARTS_WITH:
		return ci_prefix(s, o);
	case KZ_OP_ENDS_WITH:
		return ci_suffix(s, o);
	case KZ_OP_GT:
	case KZ_OP_GTE:
	case KZ_OP_LT:
	case KZ_OP_LTE:
		return o && cmp_num(c->op, (double)strcmp(s, o), 0, 0);
	case KZ_OP_BETWEEN: {
		const char *lo = json_string_value(json_array_get(c->value, 0));
		const char *hi = json_string_value(json_array_get(c->value, 1));
		return lo && hi && strcmp(s, lo) >= 0 && strcmp(s, hi) <= 0;
	}
	default:
		return 0;
	}
}

/* A value of a dynamically typed field (company.<key>, event properties). */
static int match_any(const kz_fcmp *c, const kz_fval *v, int64_t now)
{
	int64_t ms;
	switch (v->t) {
	case KZ_V_NUM:
		if (c->op == KZ_OP_IN || c->op == KZ_OP_NOT_IN) {
			int in = in_list(c->value, NULL, v->num, 1);
			return c->op == KZ_OP_IN ? in : !in;
		}
		if (json_is_number(c->value) || c->op == KZ_OP_BETWEEN)
			return cmp_num(c->op, v->num, c->num[0], c->num[1]);
		return c->op == KZ_OP_NEQ || c->op == KZ_OP_NOT_CONTAINS;
	case KZ_V_BOOL:
		if (c->op == KZ_OP_EQ)
			return json_is_boolean(c->value) && json_is_true(c->value) == v->b;
		if (c->op == KZ_OP_NEQ)
			return !json_is_boolean(c->value) || json_is_true(c->value) != v->b;
		return 0;
	case KZ_V_LIST:
		return match_list(c, v->list);
	case KZ_V_STR:
		if (c->op >= KZ_OP_WITHIN_LAST || ((c->op <= KZ_OP_BETWEEN && c->op >= KZ_OP_GT) &&
						   c->ms[0])) {
			if (kz_time_parse_iso(v->s, &ms) < 0)
				return 0;
			return match_date(c, ms, now);
		}
		if (json_is_number(c->value) && c->op <= KZ_OP_LTE) {
			char *end;
			double d = strtod(v->s, &end);
			return end != v->s && !*end && cmp_num(c->op, d, c->num[0], 0);
		}
		return match_str(c, v->s);
	default:
		return 0;
	}
}

int kz_fcmp_match(const kz_fcmp *c, const kz_fval *v, int64_t now_ms,
		  int (*stage_rank)(void *ctx, const char *stage), void *ctx)
{
	int present = v->t != KZ_V_MISSING && !(v->t == KZ_V_STR && !*v->s) &&
		      !(v->t == KZ_V_LIST && json_array_size(v->list) == 0);
	if (c->op == KZ_OP_EXISTS)
		return present;
	if (c->op == KZ_OP_NOT_EXISTS)
		return !present;
	if (!present) /* the negative operators hold for people without a value */
		return c->op == KZ_OP_NEQ || c->op == KZ_OP_NOT_IN || c->op == KZ_OP_NOT_CONTAINS;
	switch (c->type) {
	case KZ_FT_STRING:
		return v->t == KZ_V_STR && match_str(c, v->s);
	case KZ_FT_NUMBER:
		if (v->t != KZ_V_NUM)
			return 0;
		if (c->op == KZ_OP_IN || c->op == KZ_OP_NOT_IN) {
			int in = in_list(c->value, NULL, v->num, 1);
			return c->op == KZ_OP_IN ? in : !in;
		}
		return cmp_num(c->op, v->num, c->num[0], c->num[1]);
	case KZ_FT_DATE:
		return v->t == KZ_V_MS && match_date(c, v->ms, now_ms);
	case KZ_FT_BOOL:
		if (v->t != KZ_V_BOOL)
			return 0;
		return c->op == KZ_OP_EQ ? json_is_true(c->value) == v->b
					 : json_is_true(c->value) != v->b;
	case KZ_FT_LIST:
		return v->t == KZ_V_LIST && match_list(c, v->list);
	case KZ_FT_STAGE: {
		int r, o;
		if (v->t != KZ_V_STR)
			return 0;
		if (c->op == KZ_OP_EQ || c->op == KZ_OP_NEQ || c->op == KZ_OP_IN ||
		    c->op == KZ_OP_NOT_IN)
			return match_str(c, v->s);
		r = stage_rank ? stage_rank(ctx, v->s) : -1;
		o = stage_rank ? stage_rank(ctx, json_string_value(c->value)) : -1;
		return r >= 0 && o >= 0 && cmp_num(c->op, r, o, 0);
	}
	case KZ_FT_ANY:
	default:
		return match_any(c, v, now_ms);
	}
}
