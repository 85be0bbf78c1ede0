/* mime.c — our own MIME writer (faster than building a GMime tree per message; the tests
 * parse its output back with GMime). */
#include "channel/mime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/banned.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_chunk(kz_buf *out, const unsigned char *p, size_t n)
{
	char q[4];
	unsigned v = (unsigned)p[0] << 16 | (n > 1 ? (unsigned)p[1] << 8 : 0) | (n > 2 ? p[2] : 0);
	q[0] = b64[v >> 18 & 63];
	q[1] = b64[v >> 12 & 63];
	q[2] = n > 1 ? b64[v >> 6 & 63] : '=';
	q[3] = n > 2 ? b64[v & 63] : '=';
	kz_buf_add(out, q, 4);
}

void kz_mime_base64(kz_buf *out, const unsigned char *data, size_t len)
{
	size_t i = 0, col = 0;
	while (i < len) {
		size_t n = len - i < 3 ? len - i : 3;
		b64_chunk(out, data + i, n);
		i += n;
		col += 4;
		if (col >= 76 || i >= len) {
			kz_buf_add(out, "\r\n", 2);
			col = 0;
		}
	}
}

void kz_mime_qp(kz_buf *out, const char *data, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		char enc[3];
		size_t w;
		if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
			continue;
		if (c == '\n') {
			kz_buf_add(out, "\r\n", 2);
			col = 0;
			continue;
		}
		/* spaces before a line end, '=', control and 8-bit bytes are encoded; a '.' at a
		 * line start too, so no transport ever sees a lone dot line */
		int next_is_eol = i + 1 >= len || data[i + 1] == '\n' || data[i + 1] == '\r';
		if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
		    ((c == ' ' || c == '\t') && !next_is_eol)) {
			enc[0] = (char)c;
			w = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		}
		if (col + w > 75) {
			kz_buf_add(out, "=\r\n", 3);
			col = 0;
		}
		kz_buf_add(out, enc, w);
		col += w;
	}
	if (col)
		kz_buf_add(out, "\r\n", 2);
}

static int is_ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			return 0;
	return 1;
}

/* Byte length of the UTF-8 character at s (1 for stray bytes). */
static size_t u8len(const unsigned char *s)
{
	if (s[0] >= 0xF0 && s[1] && s[2] && s[3])
		return 4;
	if (s[0] >= 0xE0 && s[1] && s[2])
		return 3;
	if (s[0] >= 0xC0 && s[1])
		return 2;
	return 1;
}

/* Length of the Q encoding of byte c inside an encoded word. */
static size_t q_len(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			       c == ' ' || c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
		       ? 1
		       : 3;
}

static void q_word(kz_buf *out, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	kz_buf_adds(out, "=?UTF-8?Q?");
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ') {
			kz_buf_addc(out, '_');
		} else if (q_len(p[i]) == 1) {
			kz_buf_addc(out, (char)p[i]);
		} else {
			kz_buf_addc(out, '=');
			kz_buf_addc(out, hex[p[i] >> 4]);
			kz_buf_addc(out, hex[p[i] & 15]);
		}
	}
	kz_buf_adds(out, "?=");
}

/* Encoded words of s; each line (the first starting at column col) stays within 76.
 * Words are base64 (compact for Japanese). A word that is not the last never ends in base64
 * padding: some readers (GMime 3.2) join adjacent words before decoding and lose the rest
 * after a padded one. When no character boundary falls on a multiple of 3 bytes, that word
 * is written in Q encoding instead, which has no padding. */
static void encoded_words(kz_buf *out, const char *s, size_t col)
{
	const unsigned char *p = (const unsigned char *)s;
	if (col > 50) {
		kz_buf_add(out, "\r\n ", 3);
		col = 1;
	}
	while (*p) {
		size_t n = 0, best3 = 0, cap = (75 - col - 12) / 4 * 3;
		while (p[n]) {
			size_t l = u8len(p + n);
			if (n + l > cap && n)
				break;
			n += l;
			if (n % 3 == 0)
				best3 = n;
		}
		if (p[n] && best3) {
			n = best3;
		} else if (p[n]) {
			size_t qcap = 75 - col - 12, qn = 0, qlen = 0;
			while (p[qn]) {
				size_t l = u8len(p + qn), w = 0;
				for (size_t i = 0; i < l; i++)
					w += q_len(p[qn + i]);
				if (qlen + w > qcap && qn)
					break;
				qlen += w;
				qn += l;
			}
			q_word(out, p, qn);
			p += qn;
			if (*p)
				kz_buf_add(out, "\r\n ", 3);
			col = 1;
			continue;
		}
		kz_buf_adds(out, "=?UTF-8?B?");
		for (size_t i = 0; i < n; i += 3)
			b64_chunk(out, p + i, n - i < 3 ? n - i : 3);
		kz_buf_adds(out, "?=");
		p += n;
		if (*p)
			kz_buf_add(out, "\r\n ", 3);
		col = 1;
	}
}

/* Fold ASCII text at spaces so lines stay near 78 columns. */
static void fold_ascii(kz_buf *out, const char *s, size_t col)
{
	while (*s) {
		size_t len = strlen(s);
		const char *cut;
		if (col + len <= 78) {
			kz_buf_adds(out, s);
			return;
		}
		cut = NULL;
		for (const char *q = s + 1; *q && (size_t)(q - s) + col <= 78; q++)
			if (*q == ' ')
				cut = q;
		if (!cut)
			cut = strchr(s + 1, ' ');
		if (!cut) {
			kz_buf_adds(out, s); /* one long word: allowed up to 998 */
			return;
		}
		kz_buf_add(out, s, (size_t)(cut - s));
		kz_buf_add(out, "\r\n", 2);
		s = cut; /* the space starts the continuation line */
		col = 0;
	}
}

void kz_mime_header_text(kz_buf *out, const char *s, size_t col)
{
	if (is_ascii_printable(s) && !strstr(s, "=?"))
		fold_ascii(out, s, col);
	else
		encoded_words(out, s, col);
}

/* "Name" <addr> with the name quoted or encoded as needed. */
static void address(kz_buf *out, const char *hdr, const char *name, const char *addr)
{
	kz_buf_adds(out, hdr);
	kz_buf_adds(out, ": ");
	if (name && *name) {
		if (is_ascii_printable(name)) {
			kz_buf_addc(out, '"');
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					kz_buf_addc(out, '\\');
				kz_buf_addc(out, *p);
			}
			kz_buf_addc(out, '"');
		} else {
			encoded_words(out, name, strlen(hdr) + 2);
		}
		kz_buf_adds(out, " <");
		kz_buf_adds(out, addr);
		kz_buf_adds(out, ">\r\n");
	} else {
		kz_buf_adds(out, addr);
		kz_buf_adds(out, "\r\n");
	}
}

void kz_mime_date(int64_t ms, char *out, size_t outlen)
{
	static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
		 mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Choose base64 for mostly non-ASCII text (Japanese: 1.33x instead of QP's ~3x). */
static void body_part(kz_buf *out, const char *ctype, const char *body)
{
	size_t len = strlen(body), high = 0;
	for (size_t i = 0; i < len; i++)
		high += (unsigned char)body[i] >= 0x80;
	kz_buf_addf(out, "Content-Type: %s; charset=UTF-8\r\n", ctype);
	if (high * 6 > len) {
		/* text is encoded in its canonical form: CRLF line breaks */
		kz_buf crlf;
		kz_buf_init(&crlf, 0);
		for (size_t i = 0; i < len; i++) {
			if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
				kz_buf_addc(&crlf, '\r');
			kz_buf_addc(&crlf, body[i]);
		}
		kz_buf_adds(out, "Content-Transfer-Encoding: base64\r\n\r\n");
		kz_mime_base64(out, (const unsigned char *)crlf.data, crlf.len);
		kz_buf_release(&crlf);
	} else {
		kz_buf_adds(out, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		kz_mime_qp(out, body, len);
	}
}

static int header_safe(const char *s)
{
	return !s || (!strchr(s, '\r') && !strchr(s, '\n'));
}

int kz_mime_build(const kz_mail *m, kz_buf *out, kz_err *err)
{
	char date[48], boundary[80];
	unsigned long h = 5381;
	if (!m->from_email || !m->to_email || !m->message_id || (!m->text && !m->html))
		return kz_err_set(err, 422, "invalid_field", "", "a message needs from, to, a "
								 "Message-ID and a body");
	if (!header_safe(m->from_email) || !header_safe(m->to_email) ||
	    !header_safe(m->reply_to) || !header_safe(m->from_name) || !header_safe(m->to_name) ||
	    !header_safe(m->unsub_url) || !header_safe(m->unsub_mailto) ||
	    !header_safe(m->return_path))
		return kz_err_set(err, 422, "invalid_field", "", "header values may not hold line "
								 "breaks");
	for (const char *p = m->message_id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = m->boundary_seed ? m->boundary_seed : ""; *p; p++)
		h = h * 33 + (unsigned char)*p;
	snprintf(boundary, sizeof boundary, "=_kz_%016lx", h);
	kz_mime_date(m->date_ms, date, sizeof date);
	if (m->return_path)
		kz_buf_addf(out, "Return-Path: <%s>\r\n", m->return_path);
	kz_buf_addf(out, "Date: %s\r\n", date);
	address(out, "From", m->from_name, m->from_email);
	address(out, "To", m->to_name, m->to_email);
	if (m->reply_to && *m->reply_to)
		kz_buf_addf(out, "Reply-To: %s\r\n", m->reply_to);
	kz_buf_adds(out, "Subject: ");
	/* CR/LF in a rendered subject become spaces rather than new headers */
	{
		kz_buf subj;
		kz_buf_init(&subj, 0);
		for (const char *p = m->subject ? m->subject : ""; *p; p++)
			kz_buf_addc(&subj, (*p == '\r' || *p == '\n' || *p == '\t') ? ' ' : *p);
		kz_mime_header_text(out, subj.data, 9);
		kz_buf_release(&subj);
	}
	kz_buf_adds(out, "\r\n");
	kz_buf_addf(out, "Message-ID: <%s>\r\n", m->message_id);
	kz_buf_adds(out, "MIME-Version: 1.0\r\n");
	if (m->unsub_url || m->unsub_mailto) {
		kz_buf_adds(out, "List-Unsubscribe: ");
		if (m->unsub_url)
			kz_buf_addf(out, "<%s>", m->unsub_url);
		if (m->unsub_url && m->unsub_mailto)
			kz_buf_adds(out, ",\r\n ");
		if (m->unsub_mailto)
			kz_buf_addf(out, "<mailto:%s>", m->unsub_mailto);
		kz_buf_adds(out, "\r\n");
		if (m->unsub_url)
			kz_buf_adds(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	}
	if (m->send_ref)
		kz_buf_addf(out, "X-Kizuna-Send: %s\r\n", m->send_ref);
	if (m->text && m->html) {
		kz_buf_addf(out, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n\r\n",
			    boundary);
		kz_buf_adds(out, "This is a multi-part message in MIME format.\r\n");
		kz_buf_addf(out, "--%s\r\n", boundary);
		body_part(out, "text/plain", m->text);
		kz_buf_addf(out, "--%s\r\n", boundary);
		body_part(out, "text/html", m->html);
		kz_buf_addf(out, "--%s--\r\n", boundary);
	} else {
		body_part(out, m->html ? "text/html" : "text/plain", m->html ? m->html : m->text);
	}
	if (out->overflow)
		return kz_err_set(err, 413, "too_large", "", "the message is larger than allowed");
	return 0;
}
