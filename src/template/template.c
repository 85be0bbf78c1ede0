/* template.c — the Liquid-compatible engine: parse source into a node tree once, render the
 * tree many times against JSON variables. Errors carry the line and column of the markup. */
#include "template/template.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template/tpl_internal.h"

#include "base/banned.h"

#define MAX_DEPTH 64
#define MAX_RANGE 100000
#define DEF_ITER 100000
#define DEF_OUTPUT ((size_t)4 << 20)

/* ------------------------------------------------------------------ the tree */

enum ekind { E_LIT, E_VAR, E_RANGE, E_EMPTY, E_BLANK };

typedef struct expr expr;
typedef struct seg {
	char *name; /* NULL when index is used */
	size_t len;
	expr *index;
} seg;

struct expr {
	enum ekind kind;
	json_t *lit;
	seg *segs;
	int nseg;
	expr *lo, *hi;
};

typedef struct filt {
	const kz_tpl_filter *f;
	expr **args;
	int nargs;
	size_t pos;
} filt;

typedef struct fexpr {
	expr *e;
	filt *f;
	int nf;
} fexpr;

enum cop { C_TRUTHY, C_EQ, C_NE, C_LT, C_GT, C_LE, C_GE, C_CONTAINS };

typedef struct cond {
	expr *l, *r;
	enum cop op;
	int join; /* 0: last, 1: and next, 2: or next */
	struct cond *next;
} cond;

typedef struct node node;
typedef struct nodelist {
	node **v;
	int n, cap;
} nodelist;

typedef struct branch {
	cond *c; /* NULL: else */
	int negate;
	nodelist body;
} branch;

typedef struct when {
	expr **vals; /* NULL: else */
	int nv;
	nodelist body;
} when;

enum nkind { N_TEXT, N_OUT, N_IF, N_FOR, N_CASE, N_ASSIGN, N_CAPTURE, N_BREAK, N_CONTINUE };

struct node {
	enum nkind kind;
	size_t pos;
	const char *text; /* N_TEXT: into t->src */
	size_t len;
	fexpr fx;   /* N_OUT, N_ASSIGN */
	char *name; /* N_ASSIGN, N_CAPTURE, N_FOR variable */
	branch *br; /* N_IF */
	int nbr;
	expr *coll, *limit, *offset; /* N_FOR */
	int reversed;
	nodelist body, els; /* N_FOR, N_CAPTURE (body) */
	expr *subject;      /* N_CASE */
	when *wh;
	int nwh;
};

struct kz_tpl {
	char *src;
	size_t srclen;
	enum kz_tpl_mode mode;
	nodelist root;
};

/* ------------------------------------------------------------------ errors */

static void pos_to_linecol(const char *src, size_t pos, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < pos && src[i]; i++) {
		if (src[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)src[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int set_err(kz_tpl_err *err, const char *src, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int set_err(kz_tpl_err *err, const char *src, size_t pos, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	pos_to_linecol(src, pos, &err->line, &err->col);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------------ freeing */

static void expr_free(expr *e);
static void list_free(nodelist *l);

static void expr_free(expr *e)
{
	if (!e)
		return;
	json_decref(e->lit);
	for (int i = 0; i < e->nseg; i++) {
		free(e->segs[i].name);
		expr_free(e->segs[i].index);
	}
	free(e->segs);
	expr_free(e->lo);
	expr_free(e->hi);
	free(e);
}

static void fexpr_release(fexpr *fx)
{
	expr_free(fx->e);
	for (int i = 0; i < fx->nf; i++) {
		for (int j = 0; j < fx->f[i].nargs; j++)
			expr_free(fx->f[i].args[j]);
		free(fx->f[i].args);
	}
	free(fx->f);
}

static void cond_free(cond *c)
{
	while (c) {
		cond *n = c->next;
		expr_free(c->l);
		expr_free(c->r);
		free(c);
		c = n;
	}
}

static void node_free(node *n)
{
	if (!n)
		return;
	fexpr_release(&n->fx);
	free(n->name);
	for (int i = 0; i < n->nbr; i++) {
		cond_free(n->br[i].c);
		list_free(&n->br[i].body);
	}
	free(n->br);
	expr_free(n->coll);
	expr_free(n->limit);
	expr_free(n->offset);
	list_free(&n->body);
	list_free(&n->els);
	expr_free(n->subject);
	for (int i = 0; i < n->nwh; i++) {
		for (int j = 0; j < n->wh[i].nv; j++)
			expr_free(n->wh[i].vals[j]);
		free(n->wh[i].vals);
		list_free(&n->wh[i].body);
	}
	free(n->wh);
	free(n);
}

static void list_free(nodelist *l)
{
	for (int i = 0; i < l->n; i++)
		node_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void kz_tpl_free(kz_tpl *t)
{
	if (!t)
		return;
	list_free(&t->root);
	free(t->src);
	free(t);
}

static int list_push(nodelist *l, node *n)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		node **v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return 0;
}

/* ------------------------------------------------------------------ markup lexer */

enum tk { T_END, T_IDENT, T_NUM, T_STR, T_DOT, T_DOTDOT, T_LBR, T_RBR, T_LP, T_RP, T_PIPE,
	  T_COLON, T_COMMA, T_ASSIGN, T_CMP, T_BAD };

typedef struct lex {
	const char *src; /* whole template, for positions */
	const char *p, *end;
	enum tk t;
	const char *s; /* token text */
	size_t n;
	size_t pos; /* offset of the token in src */
} lex;

static int is_id0(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_id(int c)
{
	return is_id0(c) || (c >= '0' && c <= '9') || c == '-';
}

static void next(lex *x)
{
	const char *p = x->p;
	while (p < x->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	x->s = p;
	x->pos = (size_t)(p - x->src);
	if (p >= x->end) {
		x->t = T_END;
		x->n = 0;
		x->p = p;
		return;
	}
	unsigned char c = (unsigned char)*p;
	if (is_id0(c)) {
		while (p < x->end && is_id((unsigned char)*p))
			p++;
		if (p < x->end && *p == '?')
			p++;
		x->t = T_IDENT;
	} else if ((c >= '0' && c <= '9') ||
		   (c == '-' && p + 1 < x->end && p[1] >= '0' && p[1] <= '9')) {
		p++;
		while (p < x->end && *p >= '0' && *p <= '9')
			p++;
		if (p + 1 < x->end && *p == '.' && p[1] >= '0' && p[1] <= '9') {
			p++;
			while (p < x->end && *p >= '0' && *p <= '9')
				p++;
		}
		x->t = T_NUM;
	} else if (c == '"' || c == '\'') {
		p++;
		while (p < x->end && *p != (char)c)
			p++;
		if (p >= x->end) {
			x->t = T_BAD;
			x->n = 1;
			x->p = x->end;
			return;
		}
		p++;
		x->t = T_STR;
	} else if (c == '.') {
		p++;
		x->t = T_DOT;
		if (p < x->end && *p == '.') {
			p++;
			x->t = T_DOTDOT;
		}
	} else if (c == '=' || c == '!' || c == '<' || c == '>') {
		p++;
		if (p < x->end && (*p == '=' || (c == '<' && *p == '>')))
			p++;
		x->t = (c == '=' && p - x->s == 1) ? T_ASSIGN : T_CMP;
		if (c == '!' && p - x->s == 1)
			x->t = T_BAD;
	} else {
		p++;
		switch (c) {
		case '[': x->t = T_LBR; break;
		case ']': x->t = T_RBR; break;
		case '(': x->t = T_LP; break;
		case ')': x->t = T_RP; break;
		case '|': x->t = T_PIPE; break;
		case ':': x->t = T_COLON; break;
		case ',': x->t = T_COMMA; break;
		default: x->t = T_BAD;
		}
	}
	x->n = (size_t)(p - x->s);
	x->p = p;
}

static int is_word(const lex *x, const char *w)
{
	return x->t == T_IDENT && x->n == strlen(w) && !memcmp(x->s, w, x->n);
}

static const char *tokname(const lex *x, char *buf, size_t len)
{
	if (x->t == T_END)
		return "the end of the tag";
	snprintf(buf, len, "\"%.*s\"", (int)(x->n > 30 ? 30 : x->n), x->s);
	return buf;
}

static int unexpected(lex *x, kz_tpl_err *err, const char *want)
{
	char b[48];
	return set_err(err, x->src, x->pos, "expected %s but found %s", want,
		       tokname(x, b, sizeof b));
}

/* ------------------------------------------------------------------ expressions */

static expr *new_expr(enum ekind k)
{
	expr *e = calloc(1, sizeof *e);
	if (e)
		e->kind = k;
	return e;
}

static expr *parse_expr(lex *x, kz_tpl_err *err);

static int add_seg(expr *e, const char *name, size_t len, expr *index)
{
	seg *s = realloc(e->segs, (size_t)(e->nseg + 1) * sizeof *s);
	if (!s)
		return -1;
	e->segs = s;
	s[e->nseg].name = NULL;
	s[e->nseg].len = len;
	s[e->nseg].index = index;
	if (name) {
		s[e->nseg].name = malloc(len + 1);
		if (!s[e->nseg].name)
			return -1;
		memcpy(s[e->nseg].name, name, len);
		s[e->nseg].name[len] = '\0';
	}
	e->nseg++;
	return 0;
}

static expr *parse_primary(lex *x, kz_tpl_err *err)
{
	expr *e = NULL;
	if (x->t == T_STR) {
		e = new_expr(E_LIT);
		if (e)
			e->lit = json_stringn_nocheck(x->s + 1, x->n - 2);
		next(x);
		return e;
	}
	if (x->t == T_NUM) {
		char buf[64];
		size_t n = x->n < sizeof buf - 1 ? x->n : sizeof buf - 1;
		memcpy(buf, x->s, n);
		buf[n] = '\0';
		e = new_expr(E_LIT);
		if (e)
			e->lit = memchr(buf, '.', n) ? json_real(strtod(buf, NULL))
						   : json_integer(strtoll(buf, NULL, 10));
		next(x);
		return e;
	}
	if (x->t == T_LP) {
		size_t at = x->pos;
		next(x);
		e = new_expr(E_RANGE);
		if (!e)
			return NULL;
		e->lo = parse_expr(x, err);
		if (!e->lo)
			goto bad;
		if (x->t != T_DOTDOT) {
			unexpected(x, err, "\"..\" in a range like (1..5)");
			goto bad;
		}
		next(x);
		e->hi = parse_expr(x, err);
		if (!e->hi)
			goto bad;
		if (x->t != T_RP) {
			unexpected(x, err, "\")\" to close the range");
			goto bad;
		}
		(void)at;
		next(x);
		return e;
	}
	if (x->t == T_IDENT) {
		if (is_word(x, "true") || is_word(x, "false")) {
			e = new_expr(E_LIT);
			if (e)
				e->lit = json_boolean(is_word(x, "true"));
			next(x);
			return e;
		}
		if (is_word(x, "nil") || is_word(x, "null")) {
			e = new_expr(E_LIT);
			next(x);
			return e;
		}
		if (is_word(x, "empty") || is_word(x, "blank")) {
			e = new_expr(is_word(x, "empty") ? E_EMPTY : E_BLANK);
			next(x);
			return e;
		}
		e = new_expr(E_VAR);
		if (!e || add_seg(e, x->s, x->n, NULL) < 0)
			goto oom;
		next(x);
		for (;;) {
			if (x->t == T_DOT) {
				next(x);
				if (x->t != T_IDENT) {
					unexpected(x, err, "a name after \".\"");
					goto bad;
				}
				if (add_seg(e, x->s, x->n, NULL) < 0)
					goto oom;
				next(x);
			} else if (x->t == T_LBR) {
				expr *ix;
				next(x);
				ix = parse_expr(x, err);
				if (!ix)
					goto bad;
				if (x->t != T_RBR) {
					expr_free(ix);
					unexpected(x, err, "\"]\"");
					goto bad;
				}
				if (add_seg(e, NULL, 0, ix) < 0) {
					expr_free(ix);
					goto oom;
				}
				next(x);
			} else {
				break;
			}
		}
		return e;
	}
	if (x->t == T_LBR) {
		/* [name] at the start: a variable looked up by a computed key */
		expr *ix;
		e = new_expr(E_VAR);
		next(x);
		ix = parse_expr(x, err);
		if (!e || !ix || x->t != T_RBR) {
			if (ix && x->t != T_RBR)
				unexpected(x, err, "\"]\"");
			expr_free(ix);
			goto bad;
		}
		if (add_seg(e, NULL, 0, ix) < 0) {
			expr_free(ix);
			goto oom;
		}
		next(x);
		return e;
	}
	unexpected(x, err, "a value (a name, a number or a quoted string)");
	return NULL;
oom:
	set_err(err, x->src, x->pos, "out of memory");
bad:
	expr_free(e);
	return NULL;
}

static expr *parse_expr(lex *x, kz_tpl_err *err)
{
	return parse_primary(x, err);
}

/* expr ( | filter [: arg, arg ...] )* */
static int parse_fexpr(lex *x, fexpr *fx, kz_tpl_err *err)
{
	memset(fx, 0, sizeof *fx);
	fx->e = parse_expr(x, err);
	if (!fx->e)
		return -1;
	while (x->t == T_PIPE) {
		filt *f;
		char b[48];
		next(x);
		if (x->t != T_IDENT)
			return unexpected(x, err, "a filter name after \"|\"");
		f = realloc(fx->f, (size_t)(fx->nf + 1) * sizeof *f);
		if (!f)
			return set_err(err, x->src, x->pos, "out of memory");
		fx->f = f;
		f = &fx->f[fx->nf++];
		memset(f, 0, sizeof *f);
		f->pos = x->pos;
		f->f = kz_tpl_filter_find(x->s, x->n);
		if (!f->f)
			return set_err(err, x->src, x->pos, "unknown filter %s",
				       tokname(x, b, sizeof b));
		next(x);
		if (x->t == T_COLON) {
			do {
				expr **a, *arg;
				next(x);
				arg = parse_expr(x, err);
				if (!arg)
					return -1;
				a = realloc(f->args, (size_t)(f->nargs + 1) * sizeof *a);
				if (!a) {
					expr_free(arg);
					return set_err(err, x->src, x->pos, "out of memory");
				}
				f->args = a;
				a[f->nargs++] = arg;
			} while (x->t == T_COMMA);
		}
		if (f->nargs < f->f->min_args || f->nargs > f->f->max_args) {
			if (f->f->min_args == f->f->max_args)
				return set_err(err, x->src, f->pos,
					       "filter %s takes %d argument%s, not %d", f->f->name,
					       f->f->min_args, f->f->min_args == 1 ? "" : "s",
					       f->nargs);
			return set_err(err, x->src, f->pos,
				       "filter %s takes %d to %d arguments, not %d", f->f->name,
				       f->f->min_args, f->f->max_args, f->nargs);
		}
	}
	return 0;
}

static int parse_cond(lex *x, cond **out, kz_tpl_err *err)
{
	cond *head = NULL, **tail = &head;
	*out = NULL;
	for (;;) {
		cond *c = calloc(1, sizeof *c);
		if (!c)
			goto fail;
		*tail = c;
		tail = &c->next;
		c->l = parse_expr(x, err);
		if (!c->l)
			goto fail;
		if (x->t == T_CMP || x->t == T_ASSIGN || is_word(x, "contains")) {
			if (x->t == T_ASSIGN) {
				set_err(err, x->src, x->pos,
					"\"=\" assigns; compare with \"==\"");
				goto fail;
			}
			if (is_word(x, "contains"))
				c->op = C_CONTAINS;
			else if (x->n == 2 && x->s[0] == '=')
				c->op = C_EQ;
			else if (x->n == 2 && (x->s[0] == '!' || x->s[1] == '>'))
				c->op = C_NE;
			else if (x->n == 2 && x->s[0] == '<')
				c->op = C_LE;
			else if (x->n == 2 && x->s[0] == '>')
				c->op = C_GE;
			else if (x->s[0] == '<')
				c->op = C_LT;
			else
				c->op = C_GT;
			next(x);
			c->r = parse_expr(x, err);
			if (!c->r)
				goto fail;
		}
		if (is_word(x, "and") || is_word(x, "or")) {
			c->join = is_word(x, "and") ? 1 : 2;
			next(x);
			continue;
		}
		break;
	}
	if (x->t != T_END) {
		unexpected(x, err, "\"and\", \"or\" or the end of the condition");
		goto fail;
	}
	*out = head;
	return 0;
fail:
	cond_free(head);
	return -1;
}

/* ------------------------------------------------------------------ template parser */

typedef struct parser {
	kz_tpl *t;
	const char *p, *end; /* cursor in t->src */
	int trim_next;       /* the previous tag ended with -%} or -}} */
	int depth;
	kz_tpl_err *err;
	/* the tag that ended the last parse_list */
	char endtag[16];
	lex tagx; /* lexer positioned after the end tag's name */
} parser;

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t pos_of(parser *ps, const char *p)
{
	return (size_t)(p - ps->t->src);
}

/* Find the close of markup that opened at `open` ("}}" or "%}"), skipping quoted strings. */
static const char *find_close(const char *p, const char *end, char closer)
{
	char q = 0;
	for (; p + 1 < end; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == closer && p[1] == '}') {
			return p;
		}
	}
	return NULL;
}

static int add_text(parser *ps, nodelist *into, const char *s, size_t n, int trim_right)
{
	node *nd;
	if (ps->trim_next) {
		while (n && is_ws(*s)) {
			s++;
			n--;
		}
		ps->trim_next = 0;
	}
	if (trim_right)
		while (n && is_ws(s[n - 1]))
			n--;
	if (!n)
		return 0;
	nd = calloc(1, sizeof *nd);
	if (!nd || list_push(into, nd) < 0) {
		free(nd);
		return set_err(ps->err, ps->t->src, pos_of(ps, s), "out of memory");
	}
	nd->kind = N_TEXT;
	nd->text = s;
	nd->len = n;
	return 0;
}

static node *new_node(parser *ps, nodelist *into, enum nkind k, size_t pos)
{
	node *nd = calloc(1, sizeof *nd);
	if (!nd || list_push(into, nd) < 0) {
		free(nd);
		set_err(ps->err, ps->t->src, pos, "out of memory");
		return NULL;
	}
	nd->kind = k;
	nd->pos = pos;
	return nd;
}

static int parse_list(parser *ps, nodelist *into, const char *const *ends, size_t open);

static char *dup_tok(const lex *x)
{
	char *s = malloc(x->n + 1);
	if (s) {
		memcpy(s, x->s, x->n);
		s[x->n] = '\0';
	}
	return s;
}

/* Skip raw text up to {% endNAME %}; body and blen get what was skipped. */
static int skip_to_end(parser *ps, const char *name, size_t at, const char **body, size_t *blen)
{
	const char *p = ps->p;
	size_t nl = strlen(name);
	while (p < ps->end) {
		const char *o = memchr(p, '{', (size_t)(ps->end - p));
		const char *q, *close;
		if (!o || o + 1 >= ps->end)
			break;
		if (o[1] != '%') {
			p = o + 1;
			continue;
		}
		q = o + 2;
		if (q < ps->end && *q == '-')
			q++;
		while (q < ps->end && is_ws(*q))
			q++;
		if ((size_t)(ps->end - q) > 3 + nl && !memcmp(q, "end", 3) &&
		    !memcmp(q + 3, name, nl) && !is_id((unsigned char)q[3 + nl])) {
			close = find_close(q, ps->end, '%');
			if (!close)
				break;
			*body = ps->p;
			*blen = (size_t)(o - ps->p);
			ps->trim_next = close > q && close[-1] == '-';
			ps->p = close + 2;
			return 0;
		}
		p = o + 1;
	}
	return set_err(ps->err, ps->t->src, at, "{%% %s %%} is never closed with {%% end%s %%}",
		       name, name);
}

static int tag_end(parser *ps, lex *x)
{
	if (x->t != T_END)
		return unexpected(x, ps->err, "the end of the tag");
	return 0;
}

static int parse_if(parser *ps, nodelist *into, lex *x, size_t at, int unless)
{
	static const char *const ends[] = {"elsif", "else", "endif", "endunless", NULL};
	node *nd = new_node(ps, into, N_IF, at);
	int seen_else = 0;
	if (!nd)
		return -1;
	for (;;) {
		branch *b = realloc(nd->br, (size_t)(nd->nbr + 1) * sizeof *b);
		if (!b)
			return set_err(ps->err, ps->t->src, at, "out of memory");
		nd->br = b;
		b = &nd->br[nd->nbr++];
		memset(b, 0, sizeof *b);
		if (!seen_else) {
			if (parse_cond(x, &b->c, ps->err) < 0)
				return -1;
			b->negate = unless && nd->nbr == 1;
		}
		if (parse_list(ps, &b->body, ends, at) < 0)
			return -1;
		if (!strcmp(ps->endtag, unless ? "endunless" : "endif")) {
			return tag_end(ps, &ps->tagx);
		}
		if (!strcmp(ps->endtag, unless ? "endif" : "endunless") || seen_else) {
			return set_err(ps->err, ps->t->src, ps->tagx.pos,
				       "{%% %s %%} here does not close {%% %s %%}", ps->endtag,
				       unless ? "unless" : "if");
		}
		if (!strcmp(ps->endtag, "else")) {
			seen_else = 1;
			if (tag_end(ps, &ps->tagx) < 0)
				return -1;
		}
		*x = ps->tagx;
	}
}

static int parse_for(parser *ps, nodelist *into, lex *x, size_t at)
{
	static const char *const ends[] = {"else", "endfor", NULL};
	static const char *const ends2[] = {"endfor", NULL};
	node *nd = new_node(ps, into, N_FOR, at);
	if (!nd)
		return -1;
	if (x->t != T_IDENT)
		return unexpected(x, ps->err, "a loop variable, as in {% for item in items %}");
	nd->name = dup_tok(x);
	next(x);
	if (!is_word(x, "in"))
		return unexpected(x, ps->err, "\"in\"");
	next(x);
	nd->coll = parse_expr(x, ps->err);
	if (!nd->coll)
		return -1;
	while (x->t != T_END) {
		if (is_word(x, "reversed")) {
			nd->reversed = 1;
			next(x);
			continue;
		}
		if (is_word(x, "limit") || is_word(x, "offset")) {
			expr **slot = is_word(x, "limit") ? &nd->limit : &nd->offset;
			next(x);
			if (x->t != T_COLON)
				return unexpected(x, ps->err, "\":\"");
			next(x);
			expr_free(*slot);
			*slot = parse_expr(x, ps->err);
			if (!*slot)
				return -1;
			if (x->t == T_COMMA)
				next(x);
			continue;
		}
		return unexpected(x, ps->err, "limit:, offset:, reversed or the end of the tag");
	}
	if (parse_list(ps, &nd->body, ends, at) < 0)
		return -1;
	if (!strcmp(ps->endtag, "else")) {
		if (tag_end(ps, &ps->tagx) < 0 || parse_list(ps, &nd->els, ends2, at) < 0)
			return -1;
	}
	return tag_end(ps, &ps->tagx);
}

static int parse_case(parser *ps, nodelist *into, lex *x, size_t at)
{
	static const char *const ends[] = {"when", "else", "endcase", NULL};
	nodelist junk = {0};
	node *nd = new_node(ps, into, N_CASE, at);
	int seen_else = 0, rc;
	if (!nd)
		return -1;
	nd->subject = parse_expr(x, ps->err);
	if (!nd->subject || tag_end(ps, x) < 0)
		return -1;
	/* whatever stands between {% case %} and the first {% when %} is not output */
	rc = parse_list(ps, &junk, ends, at);
	list_free(&junk);
	if (rc < 0)
		return -1;
	while (strcmp(ps->endtag, "endcase")) {
		when *w = realloc(nd->wh, (size_t)(nd->nwh + 1) * sizeof *w);
		lex *tx = &ps->tagx;
		if (!w)
			return set_err(ps->err, ps->t->src, at, "out of memory");
		nd->wh = w;
		w = &nd->wh[nd->nwh++];
		memset(w, 0, sizeof *w);
		if (seen_else)
			return set_err(ps->err, ps->t->src, tx->pos,
				       "{%% %s %%} after {%% else %%} in a case", ps->endtag);
		if (!strcmp(ps->endtag, "else")) {
			seen_else = 1;
			if (tag_end(ps, tx) < 0)
				return -1;
		} else {
			do {
				expr **v = realloc(w->vals, (size_t)(w->nv + 1) * sizeof *v);
				if (!v)
					return set_err(ps->err, ps->t->src, at, "out of memory");
				w->vals = v;
				if (w->nv)
					next(tx);
				v[w->nv] = parse_expr(tx, ps->err);
				if (!v[w->nv])
					return -1;
				w->nv++;
			} while (tx->t == T_COMMA || is_word(tx, "or"));
			if (tag_end(ps, tx) < 0)
				return -1;
		}
		if (parse_list(ps, &w->body, ends, at) < 0)
			return -1;
	}
	return tag_end(ps, &ps->tagx);
}

static int parse_tag(parser *ps, nodelist *into, const char *inner, const char *close,
		     const char *const *ends, int *ended)
{
	lex x = {ps->t->src, inner, close, T_END, NULL, 0, 0};
	size_t at;
	char b[48];
	next(&x);
	at = x.pos;
	if (x.t == T_END)
		return set_err(ps->err, ps->t->src, at, "empty tag {%% %%}");
	if (x.n >= 1 && x.s[0] == '#')
		return 0;
	if (x.t != T_IDENT)
		return unexpected(&x, ps->err, "a tag name");
	for (int i = 0; ends && ends[i]; i++) {
		if (is_word(&x, ends[i])) {
			snprintf(ps->endtag, sizeof ps->endtag, "%s", ends[i]);
			next(&x);
			ps->tagx = x;
			*ended = 1;
			return 0;
		}
	}
	if (is_word(&x, "if") || is_word(&x, "unless")) {
		int unless = is_word(&x, "unless");
		next(&x);
		return parse_if(ps, into, &x, at, unless);
	}
	if (is_word(&x, "for")) {
		next(&x);
		return parse_for(ps, into, &x, at);
	}
	if (is_word(&x, "case")) {
		next(&x);
		return parse_case(ps, into, &x, at);
	}
	if (is_word(&x, "assign")) {
		node *nd = new_node(ps, into, N_ASSIGN, at);
		if (!nd)
			return -1;
		next(&x);
		if (x.t != T_IDENT)
			return unexpected(&x, ps->err, "a variable name");
		nd->name = dup_tok(&x);
		next(&x);
		if (x.t != T_ASSIGN)
			return unexpected(&x, ps->err, "\"=\"");
		next(&x);
		if (parse_fexpr(&x, &nd->fx, ps->err) < 0)
			return -1;
		return tag_end(ps, &x);
	}
	if (is_word(&x, "echo")) {
		node *nd = new_node(ps, into, N_OUT, at);
		if (!nd)
			return -1;
		next(&x);
		if (parse_fexpr(&x, &nd->fx, ps->err) < 0)
			return -1;
		return tag_end(ps, &x);
	}
	if (is_word(&x, "capture")) {
		static const char *const cends[] = {"endcapture", NULL};
		node *nd = new_node(ps, into, N_CAPTURE, at);
		if (!nd)
			return -1;
		next(&x);
		if (x.t != T_IDENT)
			return unexpected(&x, ps->err, "a variable name");
		nd->name = dup_tok(&x);
		next(&x);
		if (tag_end(ps, &x) < 0 || parse_list(ps, &nd->body, cends, at) < 0)
			return -1;
		return tag_end(ps, &ps->tagx);
	}
	if (is_word(&x, "break") || is_word(&x, "continue")) {
		node *nd = new_node(ps, into, is_word(&x, "break") ? N_BREAK : N_CONTINUE, at);
		if (!nd)
			return -1;
		next(&x);
		return tag_end(ps, &x);
	}
	if (is_word(&x, "comment") || is_word(&x, "raw")) {
		int raw = is_word(&x, "raw");
		const char *body = NULL;
		size_t blen = 0;
		next(&x);
		if (tag_end(ps, &x) < 0 ||
		    skip_to_end(ps, raw ? "raw" : "comment", at, &body, &blen) < 0)
			return -1;
		if (raw && blen) {
			node *nd = new_node(ps, into, N_TEXT, at);
			if (!nd)
				return -1;
			nd->text = body;
			nd->len = blen;
		}
		return 0;
	}
	if (is_word(&x, "include") || is_word(&x, "render"))
		return set_err(ps->err, ps->t->src, at,
			       "{%% %.*s %%} is not available: templates cannot read files",
			       (int)x.n, x.s);
	if (x.n > 3 && !memcmp(x.s, "end", 3))
		return set_err(ps->err, ps->t->src, at, "%s without a block to close",
			       tokname(&x, b, sizeof b));
	if (is_word(&x, "else") || is_word(&x, "elsif") || is_word(&x, "when"))
		return set_err(ps->err, ps->t->src, at, "%s outside of its block",
			       tokname(&x, b, sizeof b));
	return set_err(ps->err, ps->t->src, at, "unknown tag %s", tokname(&x, b, sizeof b));
}

/* Parse nodes into `into` until one of `ends` (then ps->endtag names it) or the end of the
 * source (only allowed when ends is NULL). */
static int parse_list(parser *ps, nodelist *into, const char *const *ends, size_t open)
{
	size_t start = pos_of(ps, ps->p);
	if (++ps->depth > MAX_DEPTH)
		return set_err(ps->err, ps->t->src, start, "blocks nested deeper than %d",
			       MAX_DEPTH);
	for (;;) {
		const char *o = ps->p, *inner, *close;
		int trim_left, ended = 0;
		char kind;
		for (;;) {
			o = memchr(o, '{', (size_t)(ps->end - o));
			if (!o || o + 1 >= ps->end || o[1] == '{' || o[1] == '%')
				break;
			o++;
		}
		if (!o || o + 1 >= ps->end) {
			if (add_text(ps, into, ps->p, (size_t)(ps->end - ps->p), 0) < 0)
				return -1;
			ps->p = ps->end;
			if (ends) {
				const char *closer = ends[0];
				for (int i = 0; ends[i]; i++)
					if (!strncmp(ends[i], "end", 3)) {
						closer = ends[i];
						break;
					}
				return set_err(ps->err, ps->t->src, open,
					       "this block is never closed with {%% %s %%}", closer);
			}
			break;
		}
		kind = o[1];
		inner = o + 2;
		trim_left = inner < ps->end && *inner == '-';
		if (trim_left)
			inner++;
		if (add_text(ps, into, ps->p, (size_t)(o - ps->p), trim_left) < 0)
			return -1;
		close = find_close(inner, ps->end, kind == '{' ? '}' : '%');
		if (!close)
			return set_err(ps->err, ps->t->src, pos_of(ps, o), "%s is never closed with %s",
				       kind == '{' ? "{{" : "{%", kind == '{' ? "}}" : "%}");
		ps->p = close + 2;
		if (close > inner && close[-1] == '-') {
			close--;
			ps->trim_next = 1;
		} else {
			ps->trim_next = 0;
		}
		if (kind == '{') {
			lex x = {ps->t->src, inner, close, T_END, NULL, 0, 0};
			node *nd;
			next(&x);
			nd = new_node(ps, into, N_OUT, x.pos);
			if (!nd || parse_fexpr(&x, &nd->fx, ps->err) < 0)
				return -1;
			if (x.t != T_END)
				return unexpected(&x, ps->err, "\"|\" or \"}}\"");
		} else {
			int keep_trim = ps->trim_next;
			if (parse_tag(ps, into, inner, close, ends, &ended) < 0)
				return -1;
			(void)keep_trim;
			if (ended)
				break;
		}
	}
	ps->depth--;
	return 0;
}

kz_tpl *kz_tpl_compile(const char *src, size_t len, enum kz_tpl_mode mode, kz_tpl_err *err)
{
	kz_tpl *t = calloc(1, sizeof *t);
	parser ps;
	if (!t || !(t->src = malloc(len + 1))) {
		free(t);
		if (err) {
			err->line = err->col = 0;
			snprintf(err->message, sizeof err->message, "out of memory");
		}
		return NULL;
	}
	memcpy(t->src, src, len);
	t->src[len] = '\0';
	t->srclen = len;
	t->mode = mode;
	memset(&ps, 0, sizeof ps);
	ps.t = t;
	ps.p = t->src;
	ps.end = t->src + len;
	ps.err = err;
	if (memchr(t->src, '\0', len)) {
		set_err(err, t->src, 0, "the template contains a NUL byte");
		kz_tpl_free(t);
		return NULL;
	}
	if (parse_list(&ps, &t->root, NULL, 0) < 0) {
		kz_tpl_free(t);
		return NULL;
	}
	return t;
}

int kz_tpl_check(const char *src, enum kz_tpl_mode mode, kz_tpl_err *err)
{
	kz_tpl *t = kz_tpl_compile(src, strlen(src), mode, err);
	if (!t)
		return -1;
	kz_tpl_free(t);
	return 0;
}

/* ------------------------------------------------------------------ rendering */

typedef struct loopframe {
	long index0, length;
} loopframe;

typedef struct rctx {
	const kz_tpl *t;
	const json_t *vars;
	json_t *locals;
	kz_buf *out;
	long iter_left;
	kz_tpl_err *err;
	loopframe loops[MAX_DEPTH];
	int nloops;
	int interrupt; /* 1 break, 2 continue */
} rctx;

static int rerr(rctx *rc, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rerr(rctx *rc, size_t pos, const char *fmt, ...)
{
	va_list ap;
	if (!rc->err)
		return -1;
	pos_to_linecol(rc->t->src, pos, &rc->err->line, &rc->err->col);
	va_start(ap, fmt);
	vsnprintf(rc->err->message, sizeof rc->err->message, fmt, ap);
	va_end(ap);
	return -1;
}

static json_t *eval(rctx *rc, const expr *e);

static json_t *forloop_get(rctx *rc, const char *k)
{
	loopframe *f;
	if (!rc->nloops)
		return NULL;
	f = &rc->loops[rc->nloops - 1];
	if (!strcmp(k, "index"))
		return json_integer(f->index0 + 1);
	if (!strcmp(k, "index0"))
		return json_integer(f->index0);
	if (!strcmp(k, "rindex"))
		return json_integer(f->length - f->index0);
	if (!strcmp(k, "rindex0"))
		return json_integer(f->length - f->index0 - 1);
	if (!strcmp(k, "first"))
		return json_boolean(f->index0 == 0);
	if (!strcmp(k, "last"))
		return json_boolean(f->index0 == f->length - 1);
	if (!strcmp(k, "length"))
		return json_integer(f->length);
	return NULL;
}

/* cur[key] with Liquid's size/first/last on arrays and strings. Returns a new reference. */
static json_t *member(json_t *cur, const char *key, size_t klen)
{
	json_t *v;
	if (json_is_object(cur)) {
		v = json_object_getn(cur, key, klen);
		if (v)
			return json_incref(v);
		if (klen == 4 && !memcmp(key, "size", 4))
			return json_integer((json_int_t)json_object_size(cur));
		return NULL;
	}
	if (json_is_array(cur)) {
		size_t n = json_array_size(cur);
		if (klen == 4 && !memcmp(key, "size", 4))
			return json_integer((json_int_t)n);
		if (klen == 5 && !memcmp(key, "first", 5))
			return n ? json_incref(json_array_get(cur, 0)) : NULL;
		if (klen == 4 && !memcmp(key, "last", 4))
			return n ? json_incref(json_array_get(cur, n - 1)) : NULL;
		return NULL;
	}
	if (json_is_string(cur) && klen == 4 && !memcmp(key, "size", 4)) {
		const char *s = json_string_value(cur);
		long chars = 0;
		for (size_t i = 0; i < json_string_length(cur); i++)
			chars += ((unsigned char)s[i] & 0xC0) != 0x80;
		return json_integer(chars);
	}
	return NULL;
}

static json_t *eval_var(rctx *rc, const expr *e)
{
	json_t *cur = NULL;
	int i = 0;
	const seg *s0 = &e->segs[0];
	if (s0->name) {
		if (e->nseg >= 2 && !strcmp(s0->name, "forloop") && e->segs[1].name &&
		    rc->nloops && !json_object_get(rc->locals, "forloop")) {
			return e->nseg == 2 ? forloop_get(rc, e->segs[1].name) : NULL;
		}
		cur = json_object_getn(rc->locals, s0->name, s0->len);
		if (!cur && rc->vars)
			cur = json_object_getn(rc->vars, s0->name, s0->len);
		if (!cur)
			return NULL;
		json_incref(cur);
		i = 1;
	} else {
		json_t *k = eval(rc, s0->index);
		if (json_is_string(k)) {
			cur = json_object_get(rc->locals, json_string_value(k));
			if (!cur && rc->vars)
				cur = json_object_get(rc->vars, json_string_value(k));
			json_incref(cur);
		}
		json_decref(k);
		if (!cur)
			return NULL;
		i = 1;
	}
	for (; i < e->nseg && cur; i++) {
		const seg *s = &e->segs[i];
		json_t *nx = NULL;
		if (s->name) {
			nx = member(cur, s->name, s->len);
		} else {
			json_t *k = eval(rc, s->index);
			if (json_is_integer(k) && json_is_array(cur)) {
				json_int_t ix = json_integer_value(k);
				if (ix < 0)
					ix += (json_int_t)json_array_size(cur);
				if (ix >= 0)
					nx = json_incref(json_array_get(cur, (size_t)ix));
			} else if (json_is_string(k)) {
				nx = member(cur, json_string_value(k), json_string_length(k));
			}
			json_decref(k);
		}
		json_decref(cur);
		cur = nx;
	}
	return cur;
}

static json_t *eval(rctx *rc, const expr *e)
{
	switch (e->kind) {
	case E_LIT:
		return e->lit ? json_incref(e->lit) : NULL;
	case E_VAR:
		return eval_var(rc, e);
	case E_EMPTY:
	case E_BLANK:
		return json_string_nocheck("");
	case E_RANGE: {
		json_t *lo = eval(rc, e->lo), *hi = eval(rc, e->hi), *a;
		long long l = 0, h = 0;
		int isint;
		kz_tpl_number(lo, &isint, &l);
		kz_tpl_number(hi, &isint, &h);
		json_decref(lo);
		json_decref(hi);
		a = json_array();
		if (h - l >= MAX_RANGE)
			h = l + MAX_RANGE - 1;
		for (long long i = l; i <= h && a; i++)
			json_array_append_new(a, json_integer(i));
		return a;
	}
	}
	return NULL;
}

static int truthy(const json_t *v)
{
	return v && !json_is_false(v) && !json_is_null(v);
}

static int is_emptyish(const json_t *v, int blank)
{
	if (!v || json_is_null(v))
		return blank;
	if (json_is_false(v))
		return blank;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!blank)
			return s[0] == '\0';
		for (; *s; s++)
			if (!is_ws(*s))
				return 0;
		return 1;
	}
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	return 0;
}

static int values_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (!a || json_is_null(a))
		return !b || json_is_null(b);
	if (!b)
		return 0;
	return json_equal((json_t *)a, (json_t *)b);
}

/* -1, 0, 1, or 2 when not comparable. */
static int compare(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		double x = json_number_value(a), y = json_number_value(b);
		return x < y ? -1 : x > y;
	}
	if (json_is_string(a) && json_is_string(b)) {
		int c = strcmp(json_string_value(a), json_string_value(b));
		return c < 0 ? -1 : c > 0;
	}
	return 2;
}

static int eval_one(rctx *rc, const cond *c)
{
	json_t *l = eval(rc, c->l), *r;
	int res = 0, cmp;
	if (c->op == C_TRUTHY) {
		res = c->l->kind == E_EMPTY || c->l->kind == E_BLANK ? 1 : truthy(l);
		json_decref(l);
		return res;
	}
	if (c->r->kind == E_EMPTY || c->r->kind == E_BLANK || c->l->kind == E_EMPTY ||
	    c->l->kind == E_BLANK) {
		const expr *side = (c->r->kind == E_EMPTY || c->r->kind == E_BLANK) ? c->r : c->l;
		json_t *v = side == c->r ? l : eval(rc, c->r);
		int e = is_emptyish(v, side->kind == E_BLANK);
		if (side != c->r)
			json_decref(v);
		json_decref(l);
		if (c->op == C_EQ)
			return e;
		if (c->op == C_NE)
			return !e;
		return 0;
	}
	r = eval(rc, c->r);
	switch (c->op) {
	case C_EQ: res = values_equal(l, r); break;
	case C_NE: res = !values_equal(l, r); break;
	case C_LT: cmp = compare(l, r); res = cmp == -1; break;
	case C_GT: cmp = compare(l, r); res = cmp == 1; break;
	case C_LE: cmp = compare(l, r); res = cmp == -1 || cmp == 0; break;
	case C_GE: cmp = compare(l, r); res = cmp == 1 || cmp == 0; break;
	case C_CONTAINS:
		if (json_is_string(l) && json_is_string(r)) {
			res = strstr(json_string_value(l), json_string_value(r)) != NULL;
		} else if (json_is_array(l)) {
			size_t i;
			json_t *it;
			json_array_foreach(l, i, it)
				if (values_equal(it, r)) {
					res = 1;
					break;
				}
		}
		break;
	default: break;
	}
	json_decref(l);
	json_decref(r);
	return res;
}

/* Liquid evaluates and/or from right to left without precedence. */
static int eval_cond(rctx *rc, const cond *c)
{
	int v = eval_one(rc, c);
	if (!c->join)
		return v;
	if (c->join == 1)
		return v && eval_cond(rc, c->next);
	return v || eval_cond(rc, c->next);
}

static int eval_fexpr(rctx *rc, const fexpr *fx, json_t **out, int *safe)
{
	json_t *v = eval(rc, fx->e);
	*safe = 0;
	for (int i = 0; i < fx->nf; i++) {
		const filt *f = &fx->f[i];
		json_t *args[4] = {NULL, NULL, NULL, NULL}, *res = NULL;
		char msg[160];
		int rcode;
		for (int j = 0; j < f->nargs && j < 4; j++)
			args[j] = eval(rc, f->args[j]);
		msg[0] = '\0';
		rcode = f->f->fn(v, args, f->nargs, &res, msg, sizeof msg);
		for (int j = 0; j < f->nargs && j < 4; j++)
			json_decref(args[j]);
		json_decref(v);
		v = res;
		if (rcode < 0) {
			json_decref(v);
			*out = NULL;
			return rerr(rc, f->pos, "%s: %s", f->f->name, msg);
		}
		*safe = f->f->safe;
	}
	*out = v;
	return 0;
}

static void html_escape(kz_buf *out, const char *s, size_t n)
{
	const char *run = s;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		kz_buf_add(out, run, (size_t)(s + i - run));
		kz_buf_adds(out, rep);
		run = s + i + 1;
	}
	kz_buf_add(out, run, (size_t)(s + n - run));
}

static void emit(rctx *rc, json_t *v, int safe)
{
	if (!v)
		return;
	if (json_is_string(v)) {
		if (rc->t->mode == KZ_TPL_HTML && !safe)
			html_escape(rc->out, json_string_value(v), json_string_length(v));
		else
			kz_buf_add(rc->out, json_string_value(v), json_string_length(v));
		return;
	}
	if (rc->t->mode == KZ_TPL_HTML && !safe && (json_is_array(v) || json_is_object(v))) {
		kz_buf tmp;
		kz_buf_init(&tmp, 0);
		kz_tpl_stringify(v, &tmp);
		html_escape(rc->out, tmp.data, tmp.len);
		kz_buf_release(&tmp);
		return;
	}
	kz_tpl_stringify(v, rc->out);
}

static int render_list(rctx *rc, const nodelist *l);

static int render_for(rctx *rc, const node *n)
{
	json_t *coll = eval(rc, n->coll), *items = NULL, *saved;
	long long off = 0, lim = -1;
	long count, start;
	int isint, rcode = 0;
	if (n->offset) {
		json_t *o = eval(rc, n->offset);
		kz_tpl_number(o, &isint, &off);
		json_decref(o);
	}
	if (n->limit) {
		json_t *o = eval(rc, n->limit);
		kz_tpl_number(o, &isint, &lim);
		json_decref(o);
	}
	if (json_is_array(coll)) {
		items = json_incref(coll);
	} else if (json_is_object(coll)) {
		const char *k;
		json_t *v;
		items = json_array();
		json_object_foreach(coll, k, v)
			json_array_append_new(items, json_pack("[sO]", k, v));
	} else if (json_is_string(coll) && json_string_length(coll)) {
		items = json_array();
		json_array_append(items, coll);
	}
	json_decref(coll);
	count = items ? (long)json_array_size(items) : 0;
	if (off < 0)
		off = 0;
	start = off > count ? count : (long)off;
	count -= start;
	if (lim >= 0 && lim < count)
		count = (long)lim;
	if (count <= 0) {
		json_decref(items);
		return render_list(rc, &n->els);
	}
	if (rc->nloops >= MAX_DEPTH) {
		json_decref(items);
		return rerr(rc, n->pos, "loops nested too deeply");
	}
	saved = json_object_get(rc->locals, n->name);
	json_incref(saved);
	rc->loops[rc->nloops].length = count;
	rc->nloops++;
	for (long i = 0; i < count; i++) {
		long ix = n->reversed ? start + count - 1 - i : start + i;
		if (--rc->iter_left < 0) {
			rcode = rerr(rc, n->pos, "the template ran more loop steps than allowed");
			break;
		}
		rc->loops[rc->nloops - 1].index0 = i;
		json_object_set(rc->locals, n->name, json_array_get(items, (size_t)ix));
		rcode = render_list(rc, &n->body);
		if (rcode < 0)
			break;
		if (rc->interrupt == 1) {
			rc->interrupt = 0;
			break;
		}
		rc->interrupt = 0;
	}
	rc->nloops--;
	if (saved)
		json_object_set_new(rc->locals, n->name, saved);
	else
		json_object_del(rc->locals, n->name);
	json_decref(items);
	return rcode;
}

static int render_node(rctx *rc, const node *n)
{
	json_t *v;
	int safe;
	switch (n->kind) {
	case N_TEXT:
		kz_buf_add(rc->out, n->text, n->len);
		return 0;
	case N_OUT:
		if (eval_fexpr(rc, &n->fx, &v, &safe) < 0)
			return -1;
		emit(rc, v, safe);
		json_decref(v);
		return 0;
	case N_ASSIGN:
		if (eval_fexpr(rc, &n->fx, &v, &safe) < 0)
			return -1;
		json_object_set_new(rc->locals, n->name, v ? v : json_null());
		return 0;
	case N_CAPTURE: {
		kz_buf *saved = rc->out, cap;
		int r;
		kz_buf_init(&cap, saved->cap);
		rc->out = &cap;
		r = render_list(rc, &n->body);
		rc->out = saved;
		if (r == 0)
			json_object_set_new(rc->locals, n->name, json_stringn_nocheck(cap.data, cap.len));
		kz_buf_release(&cap);
		return r;
	}
	case N_IF:
		for (int i = 0; i < n->nbr; i++) {
			const branch *b = &n->br[i];
			if (!b->c || (eval_cond(rc, b->c) != b->negate))
				return render_list(rc, &b->body);
		}
		return 0;
	case N_CASE: {
		json_t *subj = eval(rc, n->subject);
		int r = 0, done = 0;
		for (int i = 0; i < n->nwh && !done; i++) {
			const when *w = &n->wh[i];
			if (!w->vals) {
				r = render_list(rc, &w->body);
				break;
			}
			for (int j = 0; j < w->nv; j++) {
				json_t *cv = eval(rc, w->vals[j]);
				int eq = values_equal(subj, cv);
				json_decref(cv);
				if (eq) {
					r = render_list(rc, &w->body);
					done = 1;
					break;
				}
			}
		}
		json_decref(subj);
		return r;
	}
	case N_FOR:
		return render_for(rc, n);
	case N_BREAK:
		rc->interrupt = rc->nloops ? 1 : 0;
		return 0;
	case N_CONTINUE:
		rc->interrupt = rc->nloops ? 2 : 0;
		return 0;
	}
	return 0;
}

static int render_list(rctx *rc, const nodelist *l)
{
	for (int i = 0; i < l->n; i++) {
		if (render_node(rc, l->v[i]) < 0)
			return -1;
		if (rc->out->overflow)
			return rerr(rc, l->v[i]->pos, "the output grew past the allowed size");
		if (rc->interrupt)
			return 0;
	}
	return 0;
}

int kz_tpl_render(const kz_tpl *t, const json_t *vars, const kz_tpl_limits *lim, kz_buf *out,
		  kz_tpl_err *err)
{
	rctx rc;
	size_t max_out = lim && lim->max_output ? lim->max_output : DEF_OUTPUT;
	size_t saved_cap = out->cap;
	int r;
	memset(&rc, 0, sizeof rc);
	rc.t = t;
	rc.vars = json_is_object(vars) ? vars : NULL;
	rc.locals = json_object();
	rc.out = out;
	rc.err = err;
	rc.iter_left = lim && lim->max_iterations ? lim->max_iterations : DEF_ITER;
	if (!rc.locals)
		return rerr(&rc, 0, "out of memory");
	if (out->len + max_out < out->cap)
		out->cap = out->len + max_out;
	r = render_list(&rc, &t->root);
	out->cap = saved_cap;
	json_decref(rc.locals);
	return r;
}
