/* index.c — contacts in a dense array by id; per contact and event name, events as compact
 * day buckets (UTC day, interned properties, count); filters evaluated over it without SQL. */
#include "audience/index.h"
#include "base/json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/banned.h"

/* One bucket: how many events of one name with the same kept properties on one UTC day. */
typedef struct bucket {
	int32_t day;
	uint32_t props;
	uint32_t count;
} bucket;

/* A contact's buckets of one event name, by day (oldest first), so a condition reads only
 * its event's buckets and, with a window, only the days inside it. */
typedef struct ename {
	uint32_t name;
	uint32_t nb, cap;
	bucket *b;
} ename;

/* A contact: its record as compact JSON text (a jansson tree would cost six times the
 * memory: ~1.5 KB against ~200 bytes for a typical contact), the company it belongs to, its
 * events, scores and stage. Filters read fields through the typed columns. */
typedef struct ictc {
	char *text; /* NULL: no such contact */
	int64_t company_id;
	ename *ev;
	uint32_t nev;
	int64_t last_seen;
	int64_t score;
	json_t *scores; /* {"category": points} or NULL */
	char *stage;
} ictc;

/* An intern table: strings ↔ dense ids, with an open-addressing hash. */
typedef struct itab {
	char **str;
	json_t **val; /* parsed value per id (props tables) */
	uint32_t n, cap;
	uint32_t *slots; /* id + 1, 0 empty */
	uint32_t nslots;
} itab;

/* A column value in 16 bytes: the kind of a kz_fval and its one member; a string or a list
 * is the id of the value in the column's table of distinct values (which holds it, and by
 * which a node caches its verdict) and, for a string, a pointer to it there. */
typedef struct cval {
	uint32_t t;
	uint32_t lid;
	union {
		const char *s;
		double num;
		int64_t ms;
		int b;
	} u;
} cval;

#define NO_LIST UINT32_MAX

/* A typed column: one field's value per contact, extracted from the JSON records once and
 * kept until the record changes, so evaluations compare values instead of walking JSON (and
 * parsing ISO dates) per contact, and whole units of contacts at a time. Strings and lists
 * live in the column's table of distinct values. A put or removed contact sets its entry
 * at once; the entries of a new column (or past its old length) are stale until an
 * evaluation reads them out of the record texts. */
typedef struct icol {
	kz_fsrc src;
	kz_ftype type;
	char *key;
	cval *v;
	uint64_t *stale; /* a bit per contact: v[id] is not from the current record */
	int64_t n, nstale;
	itab lists; /* distinct values: "L" + a list's JSON text (parsed), "S" + a string */
} icol;

#define MAX_COLS 64

struct kz_index {
	icol cols[MAX_COLS];
	int ncols;
	ictc *ct;
	uint64_t *live; /* a bit per slot of ct: it holds a contact */
	int64_t nct; /* array length (one past the largest id), a multiple of 64 */
	int64_t count;
	json_t **co; /* companies by id */
	int64_t nco;
	itab names, props;
	size_t bytes;
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int itab_grow(itab *t)
{
	uint32_t ns = t->nslots ? t->nslots * 2 : 64;
	uint32_t *slots = calloc(ns, sizeof *slots);
	if (!slots)
		return -1;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = hash_str(t->str[i]) & (ns - 1);
		while (slots[h])
			h = (h + 1) & (ns - 1);
		slots[h] = i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return 0;
}

/* The id of s, or UINT32_MAX when absent (add=0) or out of memory. */
static uint32_t itab_id(itab *t, const char *s, int add, int parse)
{
	uint32_t h;
	if (!t->nslots && (!add || itab_grow(t) < 0))
		return UINT32_MAX;
	h = hash_str(s) & (t->nslots - 1);
	while (t->slots[h]) {
		uint32_t id = t->slots[h] - 1;
		if (!strcmp(t->str[id], s))
			return id;
		h = (h + 1) & (t->nslots - 1);
	}
	if (!add)
		return UINT32_MAX;
	if (t->n == t->cap) {
		uint32_t nc = t->cap ? t->cap * 2 : 64;
		char **ns = realloc(t->str, nc * sizeof *ns);
		json_t **nv;
		if (!ns)
			return UINT32_MAX;
		t->str = ns;
		nv = realloc(t->val, nc * sizeof *nv);
		if (!nv)
			return UINT32_MAX;
		t->val = nv;
		t->cap = nc;
	}
	t->str[t->n] = strdup(s);
	t->val[t->n] = parse ? kz_json_loads(s, 0, NULL) : NULL;
	t->slots[h] = ++t->n;
	if (t->n * 2 > t->nslots)
		itab_grow(t);
	return t->n - 1;
}

static void itab_release(itab *t)
{
	for (uint32_t i = 0; i < t->n; i++) {
		free(t->str[i]);
		json_decref(t->val[i]);
	}
	free(t->str);
	free(t->val);
	free(t->slots);
}

kz_index *kz_index_new(void)
{
	return calloc(1, sizeof(kz_index));
}

static void ctc_release(ictc *c)
{
	free(c->text);
	json_decref(c->scores);
	for (uint32_t i = 0; i < c->nev; i++)
		free(c->ev[i].b);
	free(c->ev);
	free(c->stage);
	memset(c, 0, sizeof *c);
}

void kz_index_free(kz_index *ix)
{
	if (!ix)
		return;
	for (int k = 0; k < ix->ncols; k++) {
		free(ix->cols[k].key);
		free(ix->cols[k].v);
		free(ix->cols[k].stale);
		itab_release(&ix->cols[k].lists);
	}
	for (int64_t i = 0; i < ix->nct; i++)
		ctc_release(&ix->ct[i]);
	for (int64_t i = 0; i < ix->nco; i++)
		json_decref(ix->co[i]);
	free(ix->ct);
	free(ix->live);
	free(ix->co);
	itab_release(&ix->names);
	itab_release(&ix->props);
	free(ix);
}

/* The slot of contact id, growing the array when asked. */
static ictc *slot(kz_index *ix, int64_t id, int grow)
{
	if (id <= 0)
		return NULL;
	if (id >= ix->nct) {
		int64_t n = ix->nct ? ix->nct : 1024;
		ictc *g;
		uint64_t *l;
		if (!grow)
			return NULL;
		while (n <= id)
			n *= 2;
		l = realloc(ix->live, (size_t)(n / 64) * sizeof *l);
		if (!l)
			return NULL;
		memset(l + ix->nct / 64, 0, (size_t)((n - ix->nct) / 64) * sizeof *l);
		ix->live = l;
		g = realloc(ix->ct, (size_t)n * sizeof *g);
		if (!g)
			return NULL;
		memset(g + ix->nct, 0, (size_t)(n - ix->nct) * sizeof *g);
		ix->ct = g;
		ix->nct = n;
	}
	return &ix->ct[id];
}

static const ictc *cslot(const kz_index *ix, int64_t id)
{
	return id > 0 && id < ix->nct && ix->ct[id].text ? &ix->ct[id] : NULL;
}

/* What a record's text holds in memory: its bytes and the allocator's words. */
static size_t text_weight(const char *text)
{
	return strlen(text) + 1 + 16;
}

/* Drop what no filter reads from a record the index keeps: its id (the slot is the id), the
 * company summary (company.<key> reads the company's own record through company_id) and
 * every null member (a null reads as missing, like an absent key). jansson spends ~60
 * bytes on each member, so this is a third of a typical contact. */
static void slim(json_t *o, int top)
{
	const char *k;
	json_t *v;
	void *tmp;
	if (top) {
		json_object_del(o, "id");
		json_object_del(o, "company");
	}
	json_object_foreach_safe(o, tmp, k, v)
	{
		if (json_is_null(v))
			json_object_del(o, k);
		else if (json_is_object(v))
			slim(v, 0);
	}
}

static int bit_of(const uint64_t *bits, int64_t id)
{
	return (int)(bits[id >> 6] >> (id & 63) & 1);
}

static void bit_set(uint64_t *bits, int64_t id)
{
	bits[id >> 6] |= (uint64_t)1 << (id & 63);
}

static void bit_clear(uint64_t *bits, int64_t id)
{
	bits[id >> 6] &= ~((uint64_t)1 << (id & 63));
}

static void cols_put(kz_index *ix, int64_t id, const json_t *rec);

void kz_index_put_contact(kz_index *ix, int64_t id, json_t *rec)
{
	ictc *c = slot(ix, id, 1);
	char *text;
	if (!c || !json_is_object(rec)) {
		json_decref(rec);
		return;
	}
	slim(rec, 1);
	text = kz_json_dumps(rec);
	if (!text) {
		json_decref(rec);
		return;
	}
	if (!c->text)
		ix->count++;
	else
		ix->bytes -= text_weight(c->text);
	free(c->text);
	c->text = text;
	c->company_id = json_integer_value(json_object_get(rec, "company_id"));
	ix->bytes += text_weight(text);
	bit_set(ix->live, id);
	cols_put(ix, id, rec); /* from the tree in hand, so no column reads the text anew */
	json_decref(rec);
}

void kz_index_update_contact(kz_index *ix, int64_t id, json_t *members)
{
	const ictc *c = cslot(ix, id);
	json_t *rec = c ? kz_json_loads(c->text, 0, NULL) : NULL;
	if (rec && json_is_object(members) && json_object_update(rec, members) == 0)
		kz_index_put_contact(ix, id, rec);
	else
		json_decref(rec);
	json_decref(members);
}

void kz_index_remove_contact(kz_index *ix, int64_t id)
{
	ictc *c = slot(ix, id, 0);
	if (!c || !c->text)
		return;
	ix->count--;
	ix->bytes -= text_weight(c->text);
	kz_index_clear_events(ix, id);
	ctc_release(c);
	bit_clear(ix->live, id);
	cols_put(ix, id, NULL);
}

int kz_index_has(const kz_index *ix, int64_t id)
{
	return cslot(ix, id) != NULL;
}

json_t *kz_index_record(const kz_index *ix, int64_t id)
{
	const ictc *c = cslot(ix, id);
	return c ? kz_json_loads(c->text, 0, NULL) : NULL;
}

int64_t kz_index_company_of(const kz_index *ix, int64_t id)
{
	const ictc *c = cslot(ix, id);
	return c ? c->company_id : 0;
}

void kz_index_put_company(kz_index *ix, int64_t id, json_t *rec)
{
	if (id <= 0) {
		json_decref(rec);
		return;
	}
	if (id >= ix->nco) {
		int64_t n = ix->nco ? ix->nco : 256;
		json_t **g;
		while (n <= id)
			n *= 2;
		g = realloc(ix->co, (size_t)n * sizeof *g);
		if (!g) {
			json_decref(rec);
			return;
		}
		memset(g + ix->nco, 0, (size_t)(n - ix->nco) * sizeof *g);
		ix->co = g;
		ix->nco = n;
	}
	json_decref(ix->co[id]);
	ix->co[id] = rec;
}

int64_t kz_index_end(const kz_index *ix)
{
	return ix->nct;
}

int64_t kz_index_count(const kz_index *ix)
{
	return ix->count;
}

/* ---- events ---- */

static int scalar_prop(const json_t *v)
{
	return json_is_number(v) || json_is_boolean(v) ||
	       (json_is_string(v) && strlen(json_string_value(v)) <= 500);
}

json_t *kz_index_event_props(const char *name, const json_t *properties, const json_t *context)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	int n = 0;
	if (!strcmp(name, "page_view")) {
		static const char *const keys[] = {"url", "path", "title", "referrer"};
		for (int i = 0; i < 4; i++) {
			json_t *x = json_object_get(properties, keys[i]);
			if (!x)
				x = json_object_get(context, keys[i]);
			if (x && scalar_prop(x))
				json_object_set(out, keys[i], x);
		}
		return out;
	}
	json_object_foreach((json_t *)properties, k, v)
	{
		if (n >= 20)
			break;
		if (scalar_prop(v) && strcmp(k, "traits")) {
			json_object_set(out, k, v);
			n++;
		}
	}
	return out;
}

static int32_t day_of(int64_t ms)
{
	return (int32_t)(ms >= 0 ? ms / KZ_DAY_MS : (ms - KZ_DAY_MS + 1) / KZ_DAY_MS);
}

/* The contact's bucket list of event name `nid`, made when asked. */
static ename *events_of(kz_index *ix, ictc *c, uint32_t nid, int make)
{
	ename *g;
	for (uint32_t i = 0; i < c->nev; i++)
		if (c->ev[i].name == nid)
			return &c->ev[i];
	if (!make)
		return NULL;
	g = realloc(c->ev, (size_t)(c->nev + 1) * sizeof *g);
	if (!g)
		return NULL;
	c->ev = g;
	ix->bytes += sizeof *g;
	g[c->nev] = (ename){nid, 0, 0, NULL};
	return &g[c->nev++];
}

static void add_bucket(kz_index *ix, ictc *c, uint32_t nid, int32_t day, uint32_t pid, uint32_t n)
{
	ename *e = events_of(ix, c, nid, 1);
	uint32_t at;
	if (!e)
		return;
	/* Events mostly arrive in time order: the day's buckets are at the end. */
	for (uint32_t i = e->nb; i-- > 0 && e->b[i].day >= day;)
		if (e->b[i].day == day && e->b[i].props == pid) {
			e->b[i].count += n;
			return;
		}
	if (e->nb == e->cap) {
		uint32_t nc = e->cap ? e->cap * 2 : 2;
		bucket *g = realloc(e->b, nc * sizeof *g);
		if (!g)
			return;
		ix->bytes += (size_t)(nc - e->cap) * sizeof *g;
		e->b = g;
		e->cap = nc;
	}
	at = e->nb; /* keep days in order: an older event moves later days up by one */
	while (at > 0 && e->b[at - 1].day > day)
		at--;
	memmove(&e->b[at + 1], &e->b[at], (size_t)(e->nb - at) * sizeof *e->b);
	e->b[at] = (bucket){day, pid, n};
	e->nb++;
}

void kz_index_add_event(kz_index *ix, int64_t contact, const char *name, int64_t at,
			const json_t *props, uint32_t n)
{
	ictc *c = slot(ix, contact, 0);
	char *text;
	uint32_t nid, pid;
	int32_t day = day_of(at);
	if (!c || !c->text)
		return;
	text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return;
	nid = itab_id(&ix->names, name, 1, 0);
	pid = itab_id(&ix->props, text, 1, 1);
	free(text);
	if (nid == UINT32_MAX || pid == UINT32_MAX)
		return;
	if (at > c->last_seen)
		c->last_seen = at;
	add_bucket(ix, c, nid, day, pid, n);
}

void kz_index_clear_events(kz_index *ix, int64_t contact)
{
	ictc *c = slot(ix, contact, 0);
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nev; i++) {
		ix->bytes -= (size_t)c->ev[i].cap * sizeof(bucket);
		free(c->ev[i].b);
	}
	ix->bytes -= (size_t)c->nev * sizeof *c->ev;
	free(c->ev);
	c->ev = NULL;
	c->nev = 0;
}

/* ---- scores and stages ---- */

void kz_index_set_score(kz_index *ix, int64_t contact, const char *category, int64_t points)
{
	ictc *c = slot(ix, contact, 0);
	const char *k;
	json_t *v;
	if (!c || !c->text)
		return;
	if (!c->scores)
		c->scores = json_object();
	json_object_set_new(c->scores, category, json_integer(points));
	c->score = 0;
	json_object_foreach(c->scores, k, v) c->score += json_integer_value(v);
}

void kz_index_reset_scores(kz_index *ix, int64_t contact)
{
	ictc *c = slot(ix, contact, 0);
	if (!c)
		return;
	json_decref(c->scores);
	c->scores = NULL;
	c->score = 0;
}

int64_t kz_index_score(const kz_index *ix, int64_t contact)
{
	const ictc *c = cslot(ix, contact);
	return c ? c->score : 0;
}

json_t *kz_index_scores(const kz_index *ix, int64_t contact)
{
	const ictc *c = cslot(ix, contact);
	return c && c->scores ? json_deep_copy(c->scores) : json_object();
}

void kz_index_set_stage(kz_index *ix, int64_t contact, const char *stage)
{
	ictc *c = slot(ix, contact, 0);
	if (!c || !c->text)
		return;
	free(c->stage);
	c->stage = stage ? strdup(stage) : NULL;
}

const char *kz_index_stage(const kz_index *ix, int64_t contact)
{
	const ictc *c = cslot(ix, contact);
	return c ? c->stage : NULL;
}

/* ---- evaluation ---- */

typedef struct ectx {
	kz_index *ix;
	int64_t now;
	int32_t today;
	const kz_index_hooks *h;
} ectx;

/* A record member by dotted path ("first_touch.source"). */
static const json_t *path_get(const json_t *o, const char *path)
{
	const char *dot = strchr(path, '.');
	char head[64];
	size_t n;
	if (!dot)
		return json_object_get(o, path);
	n = (size_t)(dot - path);
	if (n >= sizeof head)
		return NULL;
	memcpy(head, path, n);
	head[n] = '\0';
	return path_get(json_object_get(o, head), dot + 1);
}

static kz_fval record_value(kz_fsrc src, const char *key, kz_ftype type, const json_t *rec)
{
	if (src == KZ_FS_CUSTOM)
		return kz_fval_of(json_object_get(json_object_get(rec, "fields"), key), type);
	return kz_fval_of(path_get(rec, key), type);
}

/* ---- reading one member out of a record's text, without parsing the rest ----
 * The text is what kz_json_dumps wrote (compact, well formed); a malformed one reads as
 * missing. Keys are compared byte for byte (field keys and record members are plain). */

/* p at '"': the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return NULL;
		} else if (*p == '"') {
			return p + 1;
		}
	}
	return NULL;
}

/* p at a value: the byte after it, or NULL. */
static const char *skip_value(const char *p)
{
	int depth = 0;
	for (;;) {
		switch (*p) {
		case '\0':
			return NULL;
		case '"':
			p = skip_string(p);
			if (!p)
				return NULL;
			break;
		case '{':
		case '[':
			depth++;
			p++;
			break;
		case '}':
		case ']':
			if (!depth)
				return p;
			depth--;
			p++;
			break;
		case ',':
			if (!depth)
				return p;
			p++;
			break;
		default:
			p++;
			break;
		}
		if (!depth && (*p == ',' || *p == '}' || *p == ']'))
			return p;
	}
}

/* In the object at p, the value of member key (klen bytes), or NULL. */
static const char *find_member(const char *p, const char *key, size_t klen)
{
	if (!p || *p != '{')
		return NULL;
	for (p++; *p == '"';) {
		const char *k = p + 1, *e = skip_string(p);
		if (!e || *e != ':')
			return NULL;
		if ((size_t)(e - 1 - k) == klen && !memcmp(k, key, klen))
			return e + 1;
		p = skip_value(e + 1);
		if (!p)
			return NULL;
		if (*p == ',')
			p++;
	}
	return NULL;
}

/* The value of (src, key) in a record's text, parsed into *hold (the caller decrefs it). */
static kz_fval text_value(kz_fsrc src, const char *key, kz_ftype type, const char *text,
			  json_t **hold)
{
	const char *v = text, *end;
	kz_fval none;
	memset(&none, 0, sizeof none);
	*hold = NULL;
	if (src == KZ_FS_CUSTOM) {
		v = find_member(find_member(v, "fields", 6), key, strlen(key));
	} else {
		for (const char *k = key; v && k;) { /* a dotted path, one member per part */
			const char *dot = strchr(k, '.');
			v = find_member(v, k, dot ? (size_t)(dot - k) : strlen(k));
			k = dot ? dot + 1 : NULL;
		}
	}
	end = v ? skip_value(v) : NULL;
	if (!end)
		return none;
	*hold = kz_json_loadb(v, (size_t)(end - v), KZ_JSON_ANY, NULL);
	return kz_fval_of(*hold, type);
}

/* The typed column of (src, key, type), made on first use; NULL when none can be had. */
static icol *column(kz_index *ix, kz_fnode *n)
{
	icol *col;
	if (n->col_of != ix) { /* a node evaluated against another index before */
		n->col_of = ix;
		n->col = 0;
		if (n->kind == KZ_F_FIELD) { /* its verdicts were by that index's value ids */
			free(n->pmatch);
			n->pmatch = NULL;
			n->npmatch = 0;
		}
	}
	if (n->col > 0)
		return &ix->cols[n->col - 1];
	if (n->col < 0)
		return NULL;
	for (int k = 0; k < ix->ncols; k++) {
		col = &ix->cols[k];
		if (col->src == n->src && col->type == n->cmp.type && !strcmp(col->key, n->key)) {
			n->col = k + 1;
			return col;
		}
	}
	if (ix->ncols == MAX_COLS || !n->key) {
		n->col = -1;
		return NULL;
	}
	col = &ix->cols[ix->ncols];
	memset(col, 0, sizeof *col);
	col->src = n->src;
	col->type = n->cmp.type;
	col->key = strdup(n->key);
	if (!col->key) {
		n->col = -1;
		return NULL;
	}
	n->col = ++ix->ncols;
	return col;
}

/* Make the column as long as the contact array, the new entries stale; 0, or -1. */
static int col_size(kz_index *ix, icol *col)
{
	int64_t len = ix->nct, w0 = col->n / 64, w1 = len / 64;
	cval *v;
	uint64_t *st;
	if (col->n >= len)
		return 0;
	v = realloc(col->v, (size_t)len * sizeof *v);
	if (!v)
		return -1;
	col->v = v;
	st = realloc(col->stale, (size_t)w1 * sizeof *st);
	if (!st)
		return -1;
	memset(st + w0, 0xff, (size_t)(w1 - w0) * sizeof *st);
	ix->bytes += (size_t)(len - col->n) * sizeof *v + (size_t)(w1 - w0) * sizeof *st;
	col->stale = st;
	col->nstale += len - col->n;
	col->n = len;
	return 0;
}

/* The id of a distinct value ("S" + a string, "L" + a list's JSON text) in the column's
 * table; for a new list, its tree is kept there too. NO_LIST out of memory. */
static uint32_t col_intern(icol *col, char kind, const char *s, const json_t *list)
{
	size_t n = strlen(s);
	char *key = malloc(n + 2);
	uint32_t id;
	if (!key)
		return NO_LIST;
	key[0] = kind;
	memcpy(key + 1, s, n + 1);
	id = itab_id(&col->lists, key, 1, 0);
	free(key);
	if (id != NO_LIST && list && !col->lists.val[id]) {
		col->lists.val[id] = json_deep_copy(list);
		if (!col->lists.val[id])
			return NO_LIST;
	}
	return id;
}

/* Set entry id to f: strings and lists point into the column's table of distinct values,
 * never into a record (records are kept as text). */
static void col_set(icol *col, int64_t id, kz_fval f)
{
	cval *cv = &col->v[id];
	memset(cv, 0, sizeof *cv);
	cv->t = (uint32_t)f.t;
	switch (f.t) {
	case KZ_V_STR:
		cv->lid = col_intern(col, 'S', f.s, NULL);
		if (cv->lid == NO_LIST)
			cv->t = KZ_V_MISSING;
		else
			cv->u.s = col->lists.str[cv->lid] + 1;
		break;
	case KZ_V_NUM:
		cv->u.num = f.num;
		break;
	case KZ_V_BOOL:
		cv->u.b = f.b;
		break;
	case KZ_V_MS:
		cv->u.ms = f.ms;
		break;
	case KZ_V_LIST: {
		char *text = kz_json_dumps(f.list);
		cv->lid = text ? col_intern(col, 'L', text, f.list) : NO_LIST;
		if (cv->lid == NO_LIST)
			cv->t = KZ_V_MISSING;
		free(text);
		break;
	}
	case KZ_V_MISSING:
		break;
	}
	if (bit_of(col->stale, id)) {
		bit_clear(col->stale, id);
		col->nstale--;
	}
}

/* A contact was put (rec) or removed (NULL): every column takes its entry from the tree. */
static void cols_put(kz_index *ix, int64_t id, const json_t *rec)
{
	kz_fval none;
	memset(&none, 0, sizeof none);
	for (int k = 0; k < ix->ncols; k++) {
		icol *col = &ix->cols[k];
		if (id < col->n)
			col_set(col, id, rec ? record_value(col->src, col->key, col->type, rec) : none);
	}
}

/* Take the column's entry of contact id from its record's text. */
static void col_take(kz_index *ix, icol *col, int64_t id)
{
	const ictc *c = &ix->ct[id];
	json_t *hold = NULL;
	kz_fval f;
	memset(&f, 0, sizeof f);
	if (c->text)
		f = text_value(col->src, col->key, col->type, c->text, &hold);
	col_set(col, id, f);
	json_decref(hold);
}

/* Take every stale entry (a new column's, or past its old length) from the records. */
static void col_fresh(kz_index *ix, icol *col)
{
	if (!col->nstale)
		return;
	for (int64_t w = 0; w < col->n / 64; w++)
		for (uint64_t m = col->stale[w]; m; m &= m - 1)
			col_take(ix, col, w * 64 + __builtin_ctzll(m));
}

/* The entry as the kz_fval the operators take. */
static kz_fval col_value(const icol *col, int64_t id)
{
	const cval *cv = &col->v[id];
	kz_fval r;
	memset(&r, 0, sizeof r);
	switch (cv->t) {
	case KZ_V_STR:
		r.t = KZ_V_STR;
		r.s = cv->u.s;
		break;
	case KZ_V_NUM:
		r.t = KZ_V_NUM;
		r.num = cv->u.num;
		break;
	case KZ_V_BOOL:
		r.t = KZ_V_BOOL;
		r.b = cv->u.b;
		break;
	case KZ_V_MS:
		r.t = KZ_V_MS;
		r.ms = cv->u.ms;
		break;
	case KZ_V_LIST:
		r.t = KZ_V_LIST;
		r.list = col->lists.val[cv->lid];
		break;
	default:
		break;
	}
	return r;
}

/* The field's value for contact id: from its column, else (no column could be had) read
 * from the record's text into *hold (the caller decrefs it). */
static kz_fval cached_value(kz_index *ix, kz_fnode *n, int64_t id, const ictc *c, json_t **hold)
{
	icol *col = column(ix, n);
	*hold = NULL;
	if (col && id >= col->n && col_size(ix, col) < 0)
		col = NULL;
	if (!col)
		return text_value(n->src, n->key, n->cmp.type, c->text, hold);
	if (bit_of(col->stale, id))
		col_take(ix, col, id);
	return col_value(col, id);
}

static int match_field(const ectx *x, kz_fnode *n, int64_t id, const ictc *c)
{
	kz_fval v;
	json_t *hold = NULL;
	int r;
	memset(&v, 0, sizeof v);
	switch (n->src) {
	case KZ_FS_RECORD:
	case KZ_FS_CUSTOM:
		v = cached_value(x->ix, n, id, c, &hold);
		break;
	case KZ_FS_COMPANY: {
		int64_t cid = c->company_id;
		const json_t *full = cid > 0 && cid < x->ix->nco ? x->ix->co[cid] : NULL;
		const json_t *val = full ? json_object_get(full, n->key) : NULL;
		if ((!val || json_is_null(val)) && full)
			val = json_object_get(json_object_get(full, "fields"), n->key);
		v = kz_fval_of(val, n->cmp.type);
		break;
	}
	case KZ_FS_SCORE:
		v.t = KZ_V_NUM;
		v.num = (double)(n->key ? json_integer_value(json_object_get(c->scores, n->key))
					: c->score);
		break;
	case KZ_FS_STAGE:
		if (c->stage) {
			v.t = KZ_V_STR;
			v.s = c->stage;
		}
		break;
	case KZ_FS_LAST_SEEN:
		if (c->last_seen) {
			v.t = KZ_V_MS;
			v.ms = c->last_seen;
		}
		break;
	}
	r = kz_fcmp_match(&n->cmp, &v, x->now, x->h ? x->h->stage_rank : NULL,
			  x->h ? x->h->ctx : NULL);
	json_decref(hold);
	return r;
}

/* Make the node's verdict cache (property sets for an event, distinct values for a text or
 * list field) hold `want` entries; 0, or -1 out of memory. */
static int verdicts_size(kz_fnode *n, size_t want)
{
	size_t nn = want + 64;
	unsigned char *g;
	if (n->npmatch >= want)
		return 0;
	g = realloc(n->pmatch, nn);
	if (!g)
		return -1;
	memset(g + n->npmatch, 0, nn - n->npmatch);
	n->pmatch = g;
	n->npmatch = nn;
	return 0;
}

/* Do the kept properties `pid` satisfy the event condition's where list? Cached per node;
 * the cache bytes are read and written atomically, since evaluation threads share them (two
 * threads that fill the same byte write the same value). */
static int props_ok(const ectx *x, kz_fnode *n, uint32_t pid)
{
	unsigned char m;
	if (!n->nwhere)
		return 1;
	if (pid >= n->npmatch && verdicts_size(n, x->ix->props.n) < 0)
		return 0;
	m = __atomic_load_n(&n->pmatch[pid], __ATOMIC_RELAXED);
	if (!m) {
		const json_t *props = x->ix->props.val[pid];
		int ok = 1;
		for (int i = 0; ok && i < n->nwhere; i++) {
			kz_fval v = kz_fval_of(json_object_get(props, n->where[i].prop), KZ_FT_ANY);
			ok = kz_fcmp_match(&n->where[i].cmp, &v, x->now, NULL, NULL);
		}
		m = ok ? 2 : 1;
		__atomic_store_n(&n->pmatch[pid], m, __ATOMIC_RELAXED);
	}
	return m == 2;
}

static int count_ok(kz_fop op, int64_t v, int64_t want)
{
	switch (op) {
	case KZ_OP_EQ:
		return v == want;
	case KZ_OP_NEQ:
		return v != want;
	case KZ_OP_GT:
		return v > want;
	case KZ_OP_GTE:
		return v >= want;
	case KZ_OP_LT:
		return v < want;
	default:
		return v <= want;
	}
}

/* The node's event name as an interned id, once the index has seen the name. */
static void name_lookup(kz_index *ix, kz_fnode *n)
{
	if (n->name_id < 0) {
		uint32_t id = itab_id(&ix->names, n->event, 0, 0);
		if (id != UINT32_MAX)
			n->name_id = (int)id;
	}
}

static int match_event(const ectx *x, kz_fnode *n, const ictc *c)
{
	int64_t sum = 0;
	int32_t since = n->within_days ? x->today - (int32_t)n->within_days + 1 : INT32_MIN;
	name_lookup(x->ix, n);
	if (n->name_id >= 0) {
		const ename *e = NULL;
		for (uint32_t k = 0; k < c->nev && !e; k++)
			if (c->ev[k].name == (uint32_t)n->name_id)
				e = &c->ev[k];
		/* newest first, down to the window's first day; "at least N" stops at N */
		for (uint32_t i = e ? e->nb : 0; i-- > 0;) {
			const bucket *b = &e->b[i];
			if (b->day > x->today)
				continue;
			if (b->day < since)
				break;
			if (props_ok(x, n, b->props)) {
				sum += b->count;
				if ((n->count_op == KZ_OP_GTE && sum >= n->count) ||
				    (n->count_op == KZ_OP_GT && sum > n->count))
					break;
			}
		}
	}
	return count_ok(n->count_op, sum, n->count);
}

static int eval(const ectx *x, kz_fnode *n, int64_t id, const ictc *c)
{
	switch (n->kind) {
	case KZ_F_ALL:
		for (int i = 0; i < n->nkids; i++)
			if (!eval(x, n->kids[i], id, c))
				return 0;
		return 1;
	case KZ_F_ANY:
		for (int i = 0; i < n->nkids; i++)
			if (eval(x, n->kids[i], id, c))
				return 1;
		return 0;
	case KZ_F_NOT:
		return !eval(x, n->kids[0], id, c);
	case KZ_F_FIELD:
		return match_field(x, n, id, c);
	case KZ_F_EVENT:
		return match_event(x, n, c);
	case KZ_F_SEGMENT: {
		int m = x->h && x->h->member ? x->h->member(x->h->ctx, n->segment, id) : 0;
		return n->member ? m : !m;
	}
	}
	return 0;
}

static void ectx_init(ectx *x, kz_index *ix, int64_t now, const kz_index_hooks *h)
{
	x->ix = ix;
	x->now = now;
	x->today = day_of(now);
	x->h = h;
}

int kz_index_match(kz_index *ix, kz_fnode *f, int64_t contact, int64_t now_ms,
		   const kz_index_hooks *h)
{
	const ictc *c = cslot(ix, contact);
	ectx x;
	if (!c)
		return 0;
	ectx_init(&x, ix, now_ms, h);
	return eval(&x, f, contact, c);
}

/* ---- evaluating everyone: a unit of contacts at a time, as bits ----
 *
 * A group's parts run one after the other over the unit's candidates, each only for the
 * contacts the parts before it left undecided (all: those still in; any: those not yet
 * in), so a cheap part first narrows what the dear ones read. A typed column is compared
 * in a tight loop over the unit; a list field looks up its verdict per distinct list; a
 * segment is its member bits; an event condition walks each candidate's buckets. */

/* Contacts per unit of work: a multiple of 64, so no two threads write one word of bits.
 * Units are taken in turn, so the heavy contacts (often the oldest ids) are spread out. */
#define MATCH_UNIT 4096
#define UNIT_WORDS (MATCH_UNIT / 64)
#define MATCH_PAR_MIN 65536 /* below this many contacts one thread is quicker */
#define MATCH_THREADS 8

/* An event pass is bound by memory latency (contact → its names → their buckets): ask for
 * a candidate's slot well ahead, its names a few ahead and its newest bucket of the
 * condition's event the next but one. */
#define AHEAD_SLOT 16
#define AHEAD 8

/* What a condition costs per contact, roughly: a segment is its bits, a typed column one
 * read, an event condition walks buckets, a company value walks JSON (cache misses each). */
static int cost(const kz_fnode *n)
{
	int c = 0;
	switch (n->kind) {
	case KZ_F_ALL:
	case KZ_F_ANY:
	case KZ_F_NOT:
		for (int i = 0; i < n->nkids; i++)
			c += cost(n->kids[i]);
		return c;
	case KZ_F_FIELD:
		if (n->src == KZ_FS_COMPANY)
			return 6;
		if (n->src != KZ_FS_RECORD && n->src != KZ_FS_CUSTOM)
			return 1;
		return n->cmp.type == KZ_FT_ANY || n->cmp.type == KZ_FT_STRING ? 2 : 1;
	case KZ_F_EVENT:
		return 4;
	case KZ_F_SEGMENT:
		return 0;
	}
	return 1;
}

/* all/any have no side effects, so their parts may run cheapest first: the dear ones then
 * run only for the contacts the cheap ones did not decide. */
static void cheapest_first(kz_fnode *n)
{
	int *c;
	if ((n->kind != KZ_F_ALL && n->kind != KZ_F_ANY) || n->nkids < 2)
		return;
	c = malloc((size_t)n->nkids * sizeof *c);
	if (!c)
		return; /* the order as written is as right, only slower */
	for (int i = 0; i < n->nkids; i++)
		c[i] = cost(n->kids[i]);
	for (int i = 1; i < n->nkids; i++) { /* insertion sort: stable, a handful of parts */
		kz_fnode *k = n->kids[i];
		int ck = c[i], j = i;
		while (j > 0 && c[j - 1] > ck) {
			n->kids[j] = n->kids[j - 1];
			c[j] = c[j - 1];
			j--;
		}
		n->kids[j] = k;
		c[j] = ck;
	}
	free(c);
}

/* Everything evaluation would set up lazily, set up before threads share the filter:
 * columns made, sized and taken anew where stale, verdict caches sized, event names
 * looked up. -1: some could not be (out of memory), so evaluate one
 * contact at a time. */
static int prepare(kz_index *ix, kz_fnode *n)
{
	switch (n->kind) {
	case KZ_F_ALL:
	case KZ_F_ANY:
	case KZ_F_NOT:
		for (int i = 0; i < n->nkids; i++)
			if (prepare(ix, n->kids[i]) < 0)
				return -1;
		cheapest_first(n);
		return 0;
	case KZ_F_FIELD:
		if (n->src == KZ_FS_RECORD || n->src == KZ_FS_CUSTOM) {
			icol *col = column(ix, n);
			if (!col)
				return 0;
			if (col_size(ix, col) < 0)
				return -1;
			col_fresh(ix, col);
			return verdicts_size(n, col->lists.n);
		}
		return 0;
	case KZ_F_EVENT:
		name_lookup(ix, n);
		return n->nwhere ? verdicts_size(n, ix->props.n) : 0;
	case KZ_F_SEGMENT:
		return 0;
	}
	return 0;
}

static int any_bits(const uint64_t *w, int nw)
{
	uint64_t o = 0;
	for (int i = 0; i < nw; i++)
		o |= w[i];
	return o != 0;
}

/* The candidates of a unit as ids (up to MATCH_UNIT); how many. */
static int cand_ids(int64_t base, int nw, const uint64_t *cand, int64_t *ids)
{
	int k = 0;
	for (int w = 0; w < nw; w++)
		for (uint64_t m = cand[w]; m; m &= m - 1)
			ids[k++] = base + w * 64 + __builtin_ctzll(m);
	return k;
}

/* One contact at a time, for what has no faster way (company fields, scores, stages). */
static void vone(const ectx *x, kz_fnode *n, int64_t base, int nw, const uint64_t *cand,
		 uint64_t *out)
{
	int64_t ids[MATCH_UNIT];
	int k = cand_ids(base, nw, cand, ids);
	memset(out, 0, (size_t)nw * sizeof *out);
	for (int i = 0; i < k; i++)
		if (eval(x, n, ids[i], &x->ix->ct[ids[i]]))
			bit_set(out, ids[i] - base);
}

static void vevent(const ectx *x, kz_fnode *n, int64_t base, int nw, const uint64_t *cand,
		   uint64_t *out)
{
	int64_t ids[MATCH_UNIT];
	const ictc *ct = x->ix->ct;
	int k = cand_ids(base, nw, cand, ids);
	memset(out, 0, (size_t)nw * sizeof *out);
	for (int i = 0; i < k; i++) {
		if (i + AHEAD_SLOT < k)
			__builtin_prefetch(&ct[ids[i + AHEAD_SLOT]]);
		if (i + AHEAD < k)
			__builtin_prefetch(ct[ids[i + AHEAD]].ev);
		if (i + 2 < k && n->name_id >= 0) {
			const ictc *p = &ct[ids[i + 2]];
			for (uint32_t e = 0; e < p->nev; e++)
				if (p->ev[e].name == (uint32_t)n->name_id && p->ev[e].nb) {
					__builtin_prefetch(&p->ev[e].b[p->ev[e].nb - 1]);
					break;
				}
		}
		if (match_event(x, n, &ct[ids[i]]))
			bit_set(out, ids[i] - base);
	}
}

/* A number compared in a tight loop: these operators hold only for a number. */
#define NUM_WORD(test)                                                                  \
	for (int w = 0; w < nw; w++) {                                                  \
		uint64_t r = 0, m = cand[w];                                            \
		const cval *cv = v + w * 64;                                            \
		if (!m) {                                                               \
			out[w] = 0;                                                     \
			continue;                                                       \
		}                                                                       \
		for (int j = 0; j < 64; j++) {                                          \
			double d = cv[j].u.num;                                         \
			r |= (uint64_t)((cv[j].t == KZ_V_NUM) & (test)) << j;           \
		}                                                                       \
		out[w] = r & m;                                                         \
	}

static int vnumber(const kz_fnode *n, const cval *v, int nw, const uint64_t *cand, uint64_t *out)
{
	double a = n->cmp.num[0], b = n->cmp.num[1];
	if (n->cmp.type != KZ_FT_NUMBER)
		return 0;
	switch (n->cmp.op) {
	case KZ_OP_EQ:
		NUM_WORD(d == a);
		return 1;
	case KZ_OP_GT:
		NUM_WORD(d > a);
		return 1;
	case KZ_OP_GTE:
		NUM_WORD(d >= a);
		return 1;
	case KZ_OP_LT:
		NUM_WORD(d < a);
		return 1;
	case KZ_OP_LTE:
		NUM_WORD(d <= a);
		return 1;
	case KZ_OP_BETWEEN:
		NUM_WORD((d >= a) & (d <= b));
		return 1;
	default:
		return 0;
	}
}

/* A field with a typed column: numbers in a tight loop, lists and strings by the node's
 * verdict per distinct value (neither depends on the clock), the rest through the operators,
 * per candidate. */
static void vfield(const ectx *x, kz_fnode *n, icol *col, int64_t base, int nw,
		   const uint64_t *cand, uint64_t *out)
{
	const cval *v = col->v + base;
	int (*rank)(void *, const char *) = x->h ? x->h->stage_rank : NULL;
	void *rctx = x->h ? x->h->ctx : NULL;
	int by_value = n->cmp.type == KZ_FT_LIST || n->cmp.type == KZ_FT_STRING;
	if (vnumber(n, v, nw, cand, out))
		return;
	memset(out, 0, (size_t)nw * sizeof *out);
	for (int w = 0; w < nw; w++)
		for (uint64_t m = cand[w]; m; m &= m - 1) {
			int j = w * 64 + __builtin_ctzll(m), ok;
			const cval *cv = &v[j];
			if (by_value && (cv->t == KZ_V_LIST || cv->t == KZ_V_STR) &&
			    cv->lid < n->npmatch) {
				unsigned char vd = __atomic_load_n(&n->pmatch[cv->lid], __ATOMIC_RELAXED);
				if (!vd) {
					kz_fval f = col_value(col, base + j);
					vd = kz_fcmp_match(&n->cmp, &f, x->now, rank, rctx) ? 2 : 1;
					__atomic_store_n(&n->pmatch[cv->lid], vd, __ATOMIC_RELAXED);
				}
				ok = vd == 2;
			} else {
				kz_fval f = col_value(col, base + j);
				ok = kz_fcmp_match(&n->cmp, &f, x->now, rank, rctx);
			}
			if (ok)
				bit_set(out, j);
		}
}

static void vsegment(const ectx *x, kz_fnode *n, int64_t base, int nw, const uint64_t *cand,
		     uint64_t *out)
{
	int64_t words = 0, w0 = base / 64;
	const uint64_t *m = x->h->member_bits(x->h->ctx, n->segment, &words);
	for (int w = 0; w < nw; w++) {
		uint64_t in = m && w0 + w < words ? m[w0 + w] : 0;
		out[w] = cand[w] & (n->member ? in : ~in);
	}
}

/* out = the candidates (bits of ids base..base+64·nw) that match n; out is not cand. */
static void veval(const ectx *x, kz_fnode *n, int64_t base, int nw, const uint64_t *cand,
		  uint64_t *out)
{
	uint64_t cur[UNIT_WORDS], tmp[UNIT_WORDS];
	switch (n->kind) {
	case KZ_F_ALL:
		memcpy(cur, cand, (size_t)nw * sizeof *cur);
		for (int i = 0; i < n->nkids && any_bits(cur, nw); i++) {
			veval(x, n->kids[i], base, nw, cur, tmp);
			memcpy(cur, tmp, (size_t)nw * sizeof *cur);
		}
		memcpy(out, cur, (size_t)nw * sizeof *out);
		return;
	case KZ_F_ANY:
		memcpy(cur, cand, (size_t)nw * sizeof *cur); /* not decided yet */
		memset(out, 0, (size_t)nw * sizeof *out);
		for (int i = 0; i < n->nkids && any_bits(cur, nw); i++) {
			veval(x, n->kids[i], base, nw, cur, tmp);
			for (int w = 0; w < nw; w++) {
				out[w] |= tmp[w];
				cur[w] &= ~tmp[w];
			}
		}
		return;
	case KZ_F_NOT:
		veval(x, n->kids[0], base, nw, cand, tmp);
		for (int w = 0; w < nw; w++)
			out[w] = cand[w] & ~tmp[w];
		return;
	case KZ_F_FIELD:
		if ((n->src == KZ_FS_RECORD || n->src == KZ_FS_CUSTOM) && n->col > 0 &&
		    n->col_of == x->ix) {
			vfield(x, n, &x->ix->cols[n->col - 1], base, nw, cand, out);
			return;
		}
		break;
	case KZ_F_EVENT:
		vevent(x, n, base, nw, cand, out);
		return;
	case KZ_F_SEGMENT:
		if (x->h && x->h->member_bits) {
			vsegment(x, n, base, nw, cand, out);
			return;
		}
		break;
	}
	vone(x, n, base, nw, cand, out);
}

typedef struct match_job {
	const ectx *x;
	kz_fnode *f;
	uint64_t *bits;
	atomic_llong next; /* the next unit's first id */
	atomic_llong matched;
} match_job;

static void *match_worker(void *arg)
{
	match_job *j = arg;
	const kz_index *ix = j->x->ix;
	int64_t n = 0, end = ix->nct;
	for (;;) {
		int64_t from = atomic_fetch_add(&j->next, MATCH_UNIT);
		int nw;
		if (from >= end)
			break;
		nw = (int)((from + MATCH_UNIT < end ? MATCH_UNIT : end - from) / 64);
		veval(j->x, j->f, from, nw, ix->live + from / 64, j->bits + from / 64);
		for (int w = 0; w < nw; w++)
			n += __builtin_popcountll(j->bits[from / 64 + w]);
	}
	atomic_fetch_add(&j->matched, n);
	return NULL;
}

static int match_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MATCH_THREADS ? MATCH_THREADS : (int)n;
}

int64_t kz_index_match_all(kz_index *ix, kz_fnode *f, int64_t now_ms, const kz_index_hooks *h,
			   uint64_t *bits)
{
	ectx x;
	match_job job;
	pthread_t th[MATCH_THREADS];
	int nth = ix->nct >= MATCH_PAR_MIN ? match_threads() : 1, started = 0;
	ectx_init(&x, ix, now_ms, h);
	memset(bits, 0, (size_t)((ix->nct + 63) / 64) * sizeof *bits);
	if (prepare(ix, f) < 0) { /* out of memory: one contact at a time, lazily */
		int64_t n = 0;
		for (int64_t id = 1; id < ix->nct; id++)
			if (ix->ct[id].text && eval(&x, f, id, &ix->ct[id])) {
				bit_set(bits, id);
				n++;
			}
		return n;
	}
	job.x = &x;
	job.f = f;
	job.bits = bits;
	atomic_init(&job.next, 0);
	atomic_init(&job.matched, 0);
	/* the calling thread works too; the hooks and the index are only read meanwhile */
	for (int i = 0; i < nth - 1; i++)
		if (pthread_create(&th[started], NULL, match_worker, &job) == 0)
			started++;
	match_worker(&job);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&job.matched);
}

size_t kz_index_memory(const kz_index *ix)
{
	size_t b = ix->bytes + (size_t)ix->nct * sizeof(ictc) + (size_t)ix->nco * sizeof(json_t *);
	b += (size_t)(ix->names.cap + ix->props.cap) * (sizeof(char *) + sizeof(json_t *));
	b += (size_t)ix->nct / 8; /* live */
	for (uint32_t i = 0; i < ix->props.n; i++)
		b += strlen(ix->props.str[i]) * 4 + 1;
	for (int k = 0; k < ix->ncols; k++)
		for (uint32_t i = 0; i < ix->cols[k].lists.n; i++)
			b += strlen(ix->cols[k].lists.str[i]) * 4 + 1;
	return b;
}
