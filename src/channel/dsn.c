/* dsn.c — GMime parses the report's MIME structure; the delivery-status and feedback-report
 * parts are header-like field groups that we read ourselves. */
#include "channel/dsn.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/banned.h"

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
	g_mime_init();
}

typedef struct walk {
	kz_report *r;
	int have_status, have_feedback;
} walk;

/* The decoded body of a leaf part as a NUL-terminated GByteArray (caller frees). */
static GByteArray *part_bytes(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *ms;
	GByteArray *ba;
	if (!w)
		return NULL;
	ms = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, ms);
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE); /* the array outlives it */
	g_object_unref(ms);
	g_byte_array_append(ba, (const guint8 *)"", 1);
	return ba;
}

/* Value of field `name` in a block of header-like lines (first occurrence, unfolded). */
static int field(const char *text, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = text;
	while (p && *p) {
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			size_t n = 0;
			const char *v = p + nl + 1;
			for (;;) {
				while (*v == ' ' || *v == '\t')
					v++;
				while (*v && *v != '\r' && *v != '\n') {
					if (n + 1 < outlen)
						out[n++] = *v;
					v++;
				}
				if (*v == '\r')
					v++;
				if (*v == '\n')
					v++;
				if (*v != ' ' && *v != '\t')
					break;
				if (n + 1 < outlen)
					out[n++] = ' ';
			}
			while (n && out[n - 1] == ' ')
				n--;
			out[n] = '\0';
			return 1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/* "rfc822; User@Example.jp" → "user@example.jp" */
static void address_of(const char *v, char *out, size_t outlen)
{
	const char *semi = strchr(v, ';');
	size_t n = 0;
	if (semi)
		v = semi + 1;
	while (*v == ' ' || *v == '<')
		v++;
	while (*v && *v != '>' && *v != ' ' && n + 1 < outlen)
		out[n++] = (char)tolower((unsigned char)*v++);
	out[n] = '\0';
}

/* The start of the field group after g's (groups are separated by blank lines), or NULL. */
static const char *next_group(const char *g)
{
	for (const char *p = strchr(g, '\n'); p; p = strchr(p + 1, '\n')) {
		const char *q = p + 1;
		if (*q == '\r')
			q++;
		if (*q == '\n')
			return q + 1;
	}
	return NULL;
}

/* The per-recipient group in a delivery-status body: the first that failed, else the first. */
static void read_status(walk *w, const char *text)
{
	const char *group = text, *best = NULL;
	char action[32], st[32];
	/* skip the per-message fields (up to the first blank line) */
	while (group && *group) {
		const char *nl = strchr(group, '\n');
		if (!nl)
			break;
		group = nl + 1;
		if (*group == '\n' || (*group == '\r' && group[1] == '\n'))
			break;
	}
	for (const char *g = group; g && *g;) {
		if (field(g, "Final-Recipient", st, sizeof st) || field(g, "Action", action, sizeof action)) {
			if (!best)
				best = g;
			if (field(g, "Action", action, sizeof action) && !strncasecmp(action, "failed", 6)) {
				best = g;
				break;
			}
		}
		g = next_group(g);
	}
	if (!best)
		best = text;
	{
		char fr[400] = "", act[32] = "";
		if (!field(best, "Final-Recipient", fr, sizeof fr))
			field(best, "Original-Recipient", fr, sizeof fr);
		address_of(fr, w->r->recipient, sizeof w->r->recipient);
		field(best, "Status", w->r->status, sizeof w->r->status);
		field(best, "Diagnostic-Code", w->r->diagnostic, sizeof w->r->diagnostic);
		field(best, "Action", act, sizeof act);
		w->r->kind = !strncasecmp(act, "delayed", 7) ? KZ_REPORT_DELAY : KZ_REPORT_BOUNCE;
		w->r->hard = w->r->status[0] == '5';
		if (!strncasecmp(act, "delivered", 9) || !strncasecmp(act, "relayed", 7) ||
		    !strncasecmp(act, "expanded", 8))
			w->r->kind = 0;
	}
	w->have_status = 1;
}

static void read_feedback(walk *w, const char *text)
{
	char rc[400] = "";
	w->r->kind = KZ_REPORT_COMPLAINT;
	field(text, "Feedback-Type", w->r->diagnostic, sizeof w->r->diagnostic);
	if (field(text, "Original-Rcpt-To", rc, sizeof rc))
		address_of(rc, w->r->recipient, sizeof w->r->recipient);
	w->have_feedback = 1;
}

static void read_original_headers(walk *w, const char *text)
{
	char v[150];
	if (!w->r->send_ref[0] && field(text, "X-Kizuna-Send", v, sizeof v))
		snprintf(w->r->send_ref, sizeof w->r->send_ref, "%s", v);
	if (!w->r->recipient[0] && w->have_feedback && field(text, "To", v, sizeof v)) {
		const char *lt = strchr(v, '<');
		address_of(lt ? lt + 1 : v, w->r->recipient, sizeof w->r->recipient);
	}
}

static void visit(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	walk *w = data;
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *type = ct ? g_mime_content_type_get_media_type(ct) : NULL;
	const char *sub = ct ? g_mime_content_type_get_media_subtype(ct) : NULL;
	(void)parent;
	if (!type || !sub)
		return;
	if (GMIME_IS_MESSAGE_PART(part) && !strcasecmp(type, "message") &&
	    (!strcasecmp(sub, "delivery-status") || !strcasecmp(sub, "feedback-report"))) {
		/* some GMime versions parse these field blocks as embedded messages: read the
		 * serialized text instead */
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		char *text = m ? g_mime_object_to_string(GMIME_OBJECT(m), NULL) : NULL;
		if (text) {
			if (!strcasecmp(sub, "delivery-status") && !w->have_status)
				read_status(w, text);
			else if (!strcasecmp(sub, "feedback-report") && !w->have_feedback)
				read_feedback(w, text);
			g_free(text);
		}
		return;
	}
	if (GMIME_IS_MESSAGE_PART(part)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
		if (m) {
			const char *ref = g_mime_object_get_header(GMIME_OBJECT(m), "X-Kizuna-Send");
			if (ref && !w->r->send_ref[0])
				snprintf(w->r->send_ref, sizeof w->r->send_ref, "%s", ref);
			if (w->have_feedback && !w->r->recipient[0]) {
				InternetAddressList *to = g_mime_message_get_to(m);
				InternetAddress *a = to && internet_address_list_length(to) > 0
							     ? internet_address_list_get_address(to, 0)
							     : NULL;
				if (a && INTERNET_ADDRESS_IS_MAILBOX(a))
					address_of(internet_address_mailbox_get_addr(
							   INTERNET_ADDRESS_MAILBOX(a)),
						   w->r->recipient, sizeof w->r->recipient);
			}
		}
		return;
	}
	if (!GMIME_IS_PART(part))
		return;
	if ((!strcasecmp(type, "message") && !strcasecmp(sub, "delivery-status")) ||
	    (!strcasecmp(type, "message") && !strcasecmp(sub, "feedback-report")) ||
	    (!strcasecmp(type, "text") && !strcasecmp(sub, "rfc822-headers"))) {
		GByteArray *ba = part_bytes(GMIME_PART(part));
		if (!ba)
			return;
		if (!strcasecmp(sub, "delivery-status") && !w->have_status)
			read_status(w, (const char *)ba->data);
		else if (!strcasecmp(sub, "feedback-report") && !w->have_feedback)
			read_feedback(w, (const char *)ba->data);
		else
			read_original_headers(w, (const char *)ba->data);
		g_byte_array_free(ba, TRUE);
	}
}

int kz_report_parse(const char *data, size_t len, kz_report *out, kz_err *err)
{
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;
	walk w;
	memset(out, 0, sizeof *out);
	memset(&w, 0, sizeof w);
	w.r = out;
	pthread_once(&gmime_once, gmime_start);
	st = g_mime_stream_mem_new_with_buffer(data, len);
	p = g_mime_parser_new_with_stream(st);
	msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(st);
	if (!msg)
		return kz_err_set(err, 422, "invalid_report", "",
				  "this is not a mail message (expected a DSN or ARF report)");
	{
		InternetAddressList *to = g_mime_message_get_to(msg);
		InternetAddress *a = to && internet_address_list_length(to) > 0
					     ? internet_address_list_get_address(to, 0)
					     : NULL;
		if (a && INTERNET_ADDRESS_IS_MAILBOX(a))
			address_of(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
				   out->return_path, sizeof out->return_path);
	}
	g_mime_message_foreach(msg, visit, &w);
	/* some MTAs nest the report one level deeper than foreach reaches; nothing else to do */
	g_object_unref(msg);
	if (!w.have_status && !w.have_feedback)
		return kz_err_set(err, 422, "invalid_report", "",
				  "no message/delivery-status or message/feedback-report part found");
	if (w.have_status && !out->kind && !w.have_feedback)
		return kz_err_set(err, 422, "invalid_report", "",
				  "the report says the message was delivered; nothing to do");
	if (!out->recipient[0] && !out->send_ref[0] && !out->return_path[0])
		return kz_err_set(err, 422, "invalid_report", "",
				  "the report names no recipient and carries no Kizuna reference");
	return 0;
}
