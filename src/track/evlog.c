/* evlog.c — the event log's files: numbered records appended with one write, checked with
 * CRC-32 when read back, cut at the first torn record after a crash. */
#include "track/evlog.h"
#include "base/json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/crypto.h"
#include "base/log.h"

#include "base/banned.h"

/* A record: header (magic, payload length, sequence number, CRC-32 of the payload, flags)
 * then the payload: type, flags, four integers, nine length-prefixed strings. Numbers are
 * little-endian whatever the machine, so a log can be read where it was not written. */
#define MAGIC 0x5645574bu      /* "KWEV" */
#define MAX_PAYLOAD (2u << 20) /* bodies are at most 1 MiB; below READ_CHUNK */
#define NSTR 9
#define NO_STR 0xffffffffu
#define DEFAULT_FILE_BYTES ((size_t)64 << 20)
#define READ_CHUNK ((size_t)4 << 20)

typedef struct logfile {
	uint64_t first; /* the sequence number of its first record */
	uint64_t size;  /* bytes of whole records (what a reader may read) */
} logfile;

struct kz_evlog {
	char *dir;
	char id[33];
	int lock_fd;
	int fd;   /* the last file, open for appending */
	int sync; /* fdatasync after each append */
	size_t file_bytes;
	pthread_mutex_t mu; /* appends; files[] and last */
	logfile *files;
	int nfiles, afiles;
	_Atomic uint64_t last; /* changed under mu; read without it (kz_evlog_last) */
	/* the reader's place (one reader) */
	int rfile;     /* index into files, -1: none */
	uint64_t roff; /* byte offset in that file */
	uint64_t rseq; /* the sequence number of the record at roff */
	int rfd;
	unsigned char *rbuf;
};

/* ---- the codec ---- */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int add32(kz_buf *b, uint32_t v)
{
	unsigned char p[4];
	put32(p, v);
	return kz_buf_add(b, p, 4);
}

static int add64(kz_buf *b, uint64_t v)
{
	unsigned char p[8];
	put64(p, v);
	return kz_buf_add(b, p, 8);
}

static int add_str(kz_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!s)
		return add32(b, NO_STR);
	if (add32(b, (uint32_t)n) < 0)
		return -1;
	return kz_buf_add(b, s, n);
}

int kz_evlog_encode(const kz_track_event *ev, uint64_t seq, kz_buf *out)
{
	size_t start = out->len, plen;
	char *traits = ev->traits ? kz_json_dumps(ev->traits) : NULL;
	char *props = ev->properties_text ? NULL : kz_json_dumps(ev->properties);
	char *ctx = ev->context_text ? NULL : kz_json_dumps(ev->context);
	unsigned char hdr[KZ_EVLOG_HEADER] = {0}, *p;
	int rc = 0;
	kz_buf_add(out, hdr, sizeof hdr);
	kz_buf_addc(out, (char)ev->type);
	kz_buf_addc(out, (char)((ev->browser ? 1 : 0) | (ev->headless ? 2 : 0)));
	add64(out, (uint64_t)ev->contact_id);
	add64(out, (uint64_t)ev->site_id);
	add64(out, (uint64_t)ev->occurred_at);
	add64(out, (uint64_t)ev->received_at);
	add_str(out, ev->name);
	add_str(out, ev->message_id);
	add_str(out, ev->anon_id);
	add_str(out, ev->user_id);
	add_str(out, ev->previous_id);
	add_str(out, ev->email);
	add_str(out, ev->properties_text ? ev->properties_text : props);
	add_str(out, ev->context_text ? ev->context_text : ctx);
	add_str(out, traits);
	free(traits);
	free(props);
	free(ctx);
	if (out->overflow || out->len - start - KZ_EVLOG_HEADER > MAX_PAYLOAD) {
		out->len = start;
		out->data[start] = '\0';
		return -1;
	}
	plen = out->len - start - KZ_EVLOG_HEADER;
	p = (unsigned char *)out->data + start;
	put32(p, MAGIC);
	put32(p + 4, (uint32_t)plen);
	put64(p + 8, seq);
	put32(p + 16, (uint32_t)crc32(0L, p + KZ_EVLOG_HEADER, (uInt)plen));
	put32(p + 20, 0);
	return rc;
}

/* A string field: NULL (absent) or a NUL-terminated copy. -1 when it overruns the payload
 * or holds a NUL byte. */
static int take_str(const unsigned char **p, const unsigned char *end, char **out)
{
	uint32_t n;
	*out = NULL;
	if (end - *p < 4)
		return -1;
	n = get32(*p);
	*p += 4;
	if (n == NO_STR)
		return 0;
	if ((uint64_t)(end - *p) < n || memchr(*p, '\0', n))
		return -1;
	*out = malloc((size_t)n + 1);
	if (!*out)
		return -1;
	memcpy(*out, *p, n);
	(*out)[n] = '\0';
	*p += n;
	return 0;
}

static json_t *load_object(const char *text)
{
	json_t *v = kz_json_loads(text, 0, NULL);
	if (v && !json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

int kz_evlog_decode(const unsigned char *p, size_t len, kz_track_event *ev, uint64_t *seq,
		    size_t *used)
{
	const unsigned char *q, *end;
	char *s[NSTR];
	uint32_t plen;
	int type, i;
	memset(ev, 0, sizeof *ev);
	if (len < KZ_EVLOG_HEADER)
		return 0;
	if (get32(p) != MAGIC)
		return -1;
	plen = get32(p + 4);
	if (plen > MAX_PAYLOAD || plen < 2 + 32 + 4 * NSTR)
		return -1;
	if (len - KZ_EVLOG_HEADER < plen)
		return 0;
	if ((uint32_t)crc32(0L, p + KZ_EVLOG_HEADER, (uInt)plen) != get32(p + 16))
		return -1;
	*seq = get64(p + 8);
	q = p + KZ_EVLOG_HEADER;
	end = q + plen;
	type = q[0];
	if (type > KZ_EV_ALIAS || (q[1] & ~3))
		return -1;
	ev->type = (kz_ev_type)type;
	ev->browser = q[1] & 1;
	ev->headless = (q[1] >> 1) & 1;
	q += 2;
	ev->contact_id = (int64_t)get64(q);
	ev->site_id = (int64_t)get64(q + 8);
	ev->occurred_at = (int64_t)get64(q + 16);
	ev->received_at = (int64_t)get64(q + 24);
	q += 32;
	memset(s, 0, sizeof s);
	for (i = 0; i < NSTR; i++)
		if (take_str(&q, end, &s[i]) < 0)
			goto bad;
	if (q != end || !s[0] || !s[6] || !s[7])
		goto bad;
	ev->name = s[0];
	ev->message_id = s[1];
	ev->anon_id = s[2];
	ev->user_id = s[3];
	ev->previous_id = s[4];
	ev->email = s[5];
	ev->properties_text = s[6];
	ev->context_text = s[7];
	ev->context = load_object(s[7]);
	if (s[8]) {
		ev->traits = load_object(s[8]);
		ev->properties = load_object(s[6]);
		if (!ev->traits || !ev->properties) {
			free(s[8]);
			kz_track_event_release(ev);
			return -1;
		}
	}
	free(s[8]);
	if (!ev->context) {
		kz_track_event_release(ev);
		return -1;
	}
	*used = KZ_EVLOG_HEADER + plen;
	return 1;
bad:
	for (i = 0; i < NSTR; i++)
		free(s[i]);
	memset(ev, 0, sizeof *ev);
	return -1;
}

/* ---- files ---- */

static char *file_path(const kz_evlog *l, uint64_t first)
{
	size_t n = strlen(l->dir) + 32;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%016" PRIx64 ".log", l->dir, first);
	return p;
}

static int add_file(kz_evlog *l, uint64_t first, uint64_t size)
{
	if (l->nfiles == l->afiles) {
		int na = l->afiles ? l->afiles * 2 : 8;
		logfile *nf = realloc(l->files, (size_t)na * sizeof *nf);
		if (!nf)
			return -1;
		l->files = nf;
		l->afiles = na;
	}
	l->files[l->nfiles].first = first;
	l->files[l->nfiles].size = size;
	l->nfiles++;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	uint64_t x = ((const logfile *)a)->first, y = ((const logfile *)b)->first;
	return x < y ? -1 : x > y;
}

/* A fresh identity for the directory, written to its ID file. */
static int new_id(kz_evlog *l, kz_err *err)
{
	size_t n = strlen(l->dir) + 8;
	char *path = malloc(n);
	FILE *f;
	int rc = 0;
	if (!path)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	snprintf(path, n, "%s/ID", l->dir);
	kz_random_hex(l->id, 16);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", l->id) < 0 || fclose(f) != 0)
		rc = kz_err_set(err, 500, "event_log", NULL, "cannot write %s: %s", path,
				strerror(errno));
	free(path);
	return rc;
}

/* The directory's identity: read ID, or make one. */
static int load_id(kz_evlog *l, kz_err *err)
{
	size_t n = strlen(l->dir) + 8;
	char *path = malloc(n), buf[40];
	FILE *f;
	int rc = -1;
	if (!path)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	snprintf(path, n, "%s/ID", l->dir);
	f = fopen(path, "r");
	if (f) {
		if (fgets(buf, sizeof buf, f) && strlen(buf) >= 32) {
			memcpy(l->id, buf, 32);
			l->id[32] = '\0';
			rc = 0;
		}
		fclose(f);
		if (rc == 0)
			goto out;
	}
	rc = new_id(l, err);
out:
	free(path);
	return rc;
}

/* Scan one file: how many bytes of whole, valid, consecutive records it holds, and the
 * number of its last record. */
static uint64_t scan_file(const char *path, uint64_t first, uint64_t *last)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf = malloc(READ_CHUNK);
	uint64_t good = 0, expect = first;
	size_t have = 0;
	if (fd < 0 || !buf)
		goto out;
	for (;;) {
		ssize_t r = read(fd, buf + have, READ_CHUNK - have);
		size_t off = 0;
		if (r <= 0)
			break;
		have += (size_t)r;
		for (;;) {
			kz_track_event ev;
			uint64_t seq;
			size_t used;
			int d = kz_evlog_decode(buf + off, have - off, &ev, &seq, &used);
			if (d <= 0 || seq != expect) {
				if (d > 0)
					kz_track_event_release(&ev);
				if (d < 0 || d > 0)
					goto out; /* corrupt or out of order: cut here */
				break;
			}
			kz_track_event_release(&ev);
			off += used;
			good += used;
			*last = seq;
			expect = seq + 1;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
		if (have == READ_CHUNK) /* a record larger than the buffer: impossible */
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return good;
}

static int open_last(kz_evlog *l, kz_err *err)
{
	logfile *f = &l->files[l->nfiles - 1];
	char *path = file_path(l, f->first);
	if (!path)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	l->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd < 0 || ftruncate(l->fd, (off_t)f->size) < 0 ||
	    lseek(l->fd, (off_t)f->size, SEEK_SET) < 0) {
		kz_err_set(err, 500, "event_log", NULL, "cannot open %s: %s", path,
			   strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int list_files(kz_evlog *l, kz_err *err)
{
	DIR *d = opendir(l->dir);
	struct dirent *e;
	if (!d)
		return kz_err_set(err, 500, "event_log", NULL, "cannot read %s: %s", l->dir,
				  strerror(errno));
	while ((e = readdir(d))) {
		char *end;
		uint64_t first;
		if (strlen(e->d_name) != 20 || strcmp(e->d_name + 16, ".log"))
			continue;
		first = strtoull(e->d_name, &end, 16);
		if (end != e->d_name + 16 || !first)
			continue;
		if (add_file(l, first, 0) < 0) {
			closedir(d);
			return kz_err_set(err, 500, "internal", NULL, "out of memory");
		}
	}
	closedir(d);
	if (l->nfiles > 1)
		qsort(l->files, (size_t)l->nfiles, sizeof *l->files, cmp_file);
	return 0;
}

/* Find the end of the log: every file but the last must be whole and continue the
 * numbering; anything after the first bad record is cut off. */
static int recover(kz_evlog *l, kz_err *err)
{
	int i;
	if (list_files(l, err) < 0)
		return -1;
	for (i = 0; i < l->nfiles; i++) {
		char *path = file_path(l, l->files[i].first);
		uint64_t last = l->files[i].first - 1;
		if (!path)
			return kz_err_set(err, 500, "internal", NULL, "out of memory");
		if (i > 0 && l->files[i].first != l->last + 1) {
			kz_warn("event log: %s does not continue the numbering; ignored", path);
			free(path);
			break;
		}
		l->files[i].size = scan_file(path, l->files[i].first, &last);
		free(path);
		l->last = last;
		if (i + 1 < l->nfiles && l->files[i + 1].first != last + 1) {
			kz_warn("event log: torn record in file %d of %d; later files ignored",
				i + 1, l->nfiles);
			i++;
			break;
		}
	}
	l->nfiles = i; /* files past a break are left on disk, unread */
	if (!l->nfiles && add_file(l, l->last + 1, 0) < 0)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	return open_last(l, err);
}

/* mkdir -p: the directory and any missing parents. */
static int mkdir_p(const char *dir)
{
	char *p = strdup(dir), *q;
	int rc = 0;
	if (!p)
		return -1;
	for (q = p + 1; *q && rc == 0; q++)
		if (*q == '/') {
			*q = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				rc = -1;
			*q = '/';
		}
	if (rc == 0 && mkdir(p, 0755) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

kz_evlog *kz_evlog_open(const char *dir, size_t file_bytes, kz_err *err)
{
	kz_evlog *l = calloc(1, sizeof *l);
	size_t n;
	char *lockp = NULL;
	if (!l || !(l->dir = strdup(dir))) {
		free(l);
		kz_err_set(err, 500, "internal", NULL, "out of memory");
		return NULL;
	}
	l->fd = l->lock_fd = l->rfd = -1;
	l->rfile = -1;
	l->file_bytes = file_bytes ? file_bytes : DEFAULT_FILE_BYTES;
	pthread_mutex_init(&l->mu, NULL);
	if (mkdir_p(dir) < 0) {
		kz_err_set(err, 500, "event_log", NULL,
			   "cannot create the event log directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	n = strlen(dir) + 8;
	lockp = malloc(n);
	if (!lockp)
		goto oom;
	snprintf(lockp, n, "%s/LOCK", dir);
	l->lock_fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->lock_fd < 0 || flock(l->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		kz_err_set(err, 500, "event_log_locked", NULL,
			   "another kizuna process uses the event log in %s; give each server its "
			   "own directory (KIZUNA_EVENT_LOG)",
			   dir);
		goto fail;
	}
	if (load_id(l, err) < 0 || recover(l, err) < 0)
		goto fail;
	l->rbuf = malloc(READ_CHUNK);
	if (!l->rbuf)
		goto oom;
	free(lockp);
	return l;
oom:
	kz_err_set(err, 500, "internal", NULL, "out of memory");
fail:
	free(lockp);
	kz_evlog_close(l);
	return NULL;
}

void kz_evlog_close(kz_evlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	if (l->rfd >= 0)
		close(l->rfd);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* and the lock with it */
	pthread_mutex_destroy(&l->mu);
	free(l->files);
	free(l->rbuf);
	free(l->dir);
	free(l);
}

void kz_evlog_set_sync(kz_evlog *l, int on)
{
	l->sync = on;
}

const char *kz_evlog_id(const kz_evlog *l)
{
	return l->id;
}

uint64_t kz_evlog_last(kz_evlog *l)
{
	return atomic_load(&l->last);
}

uint64_t kz_evlog_bytes(kz_evlog *l)
{
	uint64_t n = 0;
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < l->nfiles; i++)
		n += l->files[i].size;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Start a new file after the last record (under mu). */
static int rotate(kz_evlog *l, kz_err *err)
{
	if (add_file(l, l->last + 1, 0) < 0)
		return kz_err_set(err, 503, "event_log", NULL, "out of memory");
	close(l->fd);
	l->fd = -1;
	return open_last(l, err);
}

void kz_evlog_skip_to(kz_evlog *l, uint64_t seq)
{
	kz_err err;
	pthread_mutex_lock(&l->mu);
	if (seq > l->last) {
		l->last = seq;
		if (rotate(l, &err) < 0)
			kz_warn("event log: %s", err.message);
	}
	pthread_mutex_unlock(&l->mu);
}

int kz_evlog_set_aside(kz_evlog *l, kz_err *err)
{
	size_t n = strlen(l->dir) + 48;
	char *aside = malloc(n);
	int rc = 0;
	if (!aside)
		return kz_err_set(err, 500, "internal", NULL, "out of memory");
	snprintf(aside, n, "%s.orphan-%lld", l->dir, (long long)time(NULL));
	pthread_mutex_lock(&l->mu);
	if (mkdir(aside, 0755) < 0) {
		rc = kz_err_set(err, 500, "event_log", NULL, "cannot create %s: %s", aside,
				strerror(errno));
		goto out;
	}
	for (int i = 0; i < l->nfiles; i++) {
		char *from = file_path(l, l->files[i].first);
		size_t m = strlen(aside) + 32;
		char *to = malloc(m);
		if (from && to) {
			snprintf(to, m, "%s/%016" PRIx64 ".log", aside, l->files[i].first);
			if (rename(from, to) < 0)
				kz_warn("event log: cannot move %s aside: %s", from,
					strerror(errno));
		}
		free(from);
		free(to);
	}
	kz_warn("event log: %s held events this database never saw (another database's?); "
		"they were moved to %s",
		l->dir, aside);
	close(l->fd);
	l->fd = -1;
	l->nfiles = 0;
	l->last = 0;
	if (new_id(l, err) < 0)
		kz_warn("event log: %s", err->message);
	if (l->rfd >= 0)
		close(l->rfd);
	l->rfd = -1;
	l->rfile = -1;
	if (add_file(l, 1, 0) < 0)
		rc = kz_err_set(err, 500, "internal", NULL, "out of memory");
	else
		rc = open_last(l, err);
out:
	pthread_mutex_unlock(&l->mu);
	free(aside);
	return rc;
}

/* Take back what part of a failed append went in, so the log ends on a whole record and
 * the numbers it did not get are given again (under mu). */
static void cut_back(kz_evlog *l)
{
	logfile *f = &l->files[l->nfiles - 1];
	if (ftruncate(l->fd, (off_t)f->size) < 0 || lseek(l->fd, (off_t)f->size, SEEK_SET) < 0)
		kz_warn("event log: cannot cut a failed write: %s", strerror(errno));
}

/* Number the records of b (encoded with sequence number 0) from seq on. */
static void number_records(kz_buf *b, uint64_t seq)
{
	size_t off = 0;
	while (off + KZ_EVLOG_HEADER <= b->len) {
		unsigned char *p = (unsigned char *)b->data + off;
		put64(p + 8, seq++);
		off += KZ_EVLOG_HEADER + get32(p + 4);
	}
}

int kz_evlog_append(kz_evlog *l, const kz_track_event *evs, int n, uint64_t *first, kz_err *err)
{
	kz_buf b;
	size_t done = 0;
	int rc = -1, added = 0;
	logfile *f;
	kz_buf_init(&b, 0);
	/* Encoded before the lock is taken (the CRC covers the payload, not the number), so
	 * appending threads wait for one another only for the numbering and the write. */
	for (int i = 0; i < n; i++) {
		if (evs[i].state == KZ_EV_DUPLICATE)
			continue;
		if (kz_evlog_encode(&evs[i], 0, &b) < 0) {
			kz_buf_release(&b);
			return kz_err_set(err, 413, "event_too_large", NULL,
					  "an event is larger than the log's limit of 2 MiB");
		}
		added++;
	}
	pthread_mutex_lock(&l->mu);
	if (l->fd < 0) {
		kz_err_set(err, 503, "event_log", NULL, "the event log is not writable");
		goto out;
	}
	number_records(&b, l->last + 1);
	while (done < b.len) {
		ssize_t w = write(l->fd, b.data + done, b.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			cut_back(l);
			kz_err_set(err, 503, "event_log", NULL,
				   "the event log could not be written (%s); send the events again",
				   w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		done += (size_t)w;
	}
	if (l->sync && b.len && fdatasync(l->fd) < 0) {
		kz_err_set(err, 503, "event_log", NULL,
			   "the event log could not be flushed to disk (%s); send the events again",
			   strerror(errno));
		cut_back(l);
		goto out;
	}
	*first = l->last + 1;
	l->last += (uint64_t)added;
	f = &l->files[l->nfiles - 1];
	f->size += b.len;
	if (f->size >= l->file_bytes && rotate(l, err) < 0)
		kz_warn("event log: %s (appends fail until a restart)", err->message);
	rc = 0;
out:
	pthread_mutex_unlock(&l->mu);
	kz_buf_release(&b);
	return rc;
}

/* ---- reading ---- */

/* Point the reader at the record after `after`: the file that holds it, from its start. */
static int seek_reader(kz_evlog *l, uint64_t after)
{
	int i;
	char *path;
	if (l->rfd >= 0)
		close(l->rfd);
	l->rfd = -1;
	l->rfile = -1;
	for (i = l->nfiles - 1; i > 0 && l->files[i].first > after + 1; i--)
		;
	if (i < 0 || i >= l->nfiles)
		return 0;
	path = file_path(l, l->files[i].first);
	if (!path)
		return -1;
	l->rfd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (l->rfd < 0)
		return -1;
	l->rfile = i;
	l->roff = 0;
	l->rseq = l->files[i].first;
	return 0;
}

int kz_evlog_read(kz_evlog *l, uint64_t after, kz_track_event *evs, uint64_t *seqs, int max,
		  kz_err *err)
{
	uint64_t size;
	int got = 0, next_file;
	ssize_t r;
	size_t off = 0;
	pthread_mutex_lock(&l->mu);
	if (after >= l->last || !l->nfiles) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	if ((l->rfile < 0 || l->rseq != after + 1) && seek_reader(l, after) < 0) {
		pthread_mutex_unlock(&l->mu);
		return kz_err_set(err, 500, "event_log", NULL, "cannot read the event log: %s",
				  strerror(errno));
	}
	size = l->files[l->rfile].size;
	next_file = l->rfile + 1 < l->nfiles;
	pthread_mutex_unlock(&l->mu);
	if (l->roff >= size) {
		if (!next_file)
			return 0;
		/* this file is done: the next one starts with the record we want */
		pthread_mutex_lock(&l->mu);
		seek_reader(l, l->rseq - 1);
		pthread_mutex_unlock(&l->mu);
		if (l->rfd < 0)
			return kz_err_set(err, 500, "event_log", NULL,
					  "cannot open the next log file");
		return kz_evlog_read(l, after, evs, seqs, max, err);
	}
	r = pread(l->rfd, l->rbuf,
		  size - l->roff < READ_CHUNK ? (size_t)(size - l->roff) : READ_CHUNK,
		  (off_t)l->roff);
	if (r <= 0)
		return kz_err_set(err, 500, "event_log", NULL, "cannot read the event log: %s",
				  r < 0 ? strerror(errno) : "unexpected end");
	while (got < max) {
		uint64_t seq;
		size_t used;
		int d = kz_evlog_decode(l->rbuf + off, (size_t)r - off, &evs[got], &seq, &used);
		if (d == 0)
			break;
		if (d < 0 || seq != l->rseq) {
			if (d > 0)
				kz_track_event_release(&evs[got]);
			return kz_err_set(err, 500, "event_log", NULL,
					  "the event log is damaged at event %" PRIu64, l->rseq);
		}
		off += used;
		l->roff += used;
		l->rseq++;
		if (seq <= after) { /* before the wanted one (after a seek): skip */
			kz_track_event_release(&evs[got]);
			continue;
		}
		seqs[got++] = seq;
	}
	return got;
}

void kz_evlog_trim(kz_evlog *l, uint64_t seq)
{
	int drop = 0;
	pthread_mutex_lock(&l->mu);
	/* A file can go when the next one starts at or before seq + 1; the last never goes. */
	while (drop + 1 < l->nfiles && l->files[drop + 1].first <= seq + 1)
		drop++;
	for (int i = 0; i < drop; i++) {
		char *path = file_path(l, l->files[i].first);
		if (path && unlink(path) < 0)
			kz_warn("event log: cannot delete %s: %s", path, strerror(errno));
		free(path);
	}
	if (drop) {
		memmove(l->files, l->files + drop, (size_t)(l->nfiles - drop) * sizeof *l->files);
		l->nfiles -= drop;
		if (l->rfile >= 0)
			l->rfile -= drop;
		if (l->rfile < 0 && l->rfd >= 0) {
			close(l->rfd);
			l->rfd = -1;
		}
	}
	pthread_mutex_unlock(&l->mu);
}
