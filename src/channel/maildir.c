/* maildir.c — the local outbox transport: each message becomes one file in DIR/new,
 * written to DIR/tmp, fsync'd and renamed, so a reader never sees half a message. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/crypto.h"
#include "channel/transport.h"

#include "base/banned.h"

typedef struct maildir {
	kz_transport base;
	char dir[512];
} maildir;

static int mkdir_p(const char *path)
{
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int md_send(kz_transport *t, const char *from, const char *rcpt, const char *msg,
		   size_t len, kz_err *err)
{
	maildir *m = (maildir *)t;
	char name[128], rnd[17], tmp[700], fin[700], host[64];
	struct timespec ts;
	size_t off = 0;
	int fd;
	(void)from;
	(void)rcpt;
	clock_gettime(CLOCK_REALTIME, &ts);
	kz_random_hex(rnd, 8);
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "kizuna");
	host[sizeof host - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '_';
	snprintf(name, sizeof name, "%lld.M%ldP%d_%s.%s", (long long)ts.tv_sec, ts.tv_nsec / 1000,
		 (int)getpid(), rnd, host);
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", m->dir, name);
	snprintf(fin, sizeof fin, "%s/new/%s", m->dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		goto fail;
	while (off < len) {
		ssize_t w = write(fd, msg + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			unlink(tmp);
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, fin) < 0) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	kz_err_set(err, 503, "maildir", "", "cannot write to the Maildir %s: %s", m->dir,
		   strerror(errno));
	return KZ_SEND_TEMP;
}

static void md_free(kz_transport *t)
{
	free(t);
}

static const kz_transport_ops maildir_ops = {"maildir", md_send, md_free};

kz_transport *kz_maildir_new(const char *dir, kz_err *err)
{
	maildir *m = calloc(1, sizeof *m);
	char sub[600];
	if (!m)
		return NULL;
	m->base.ops = &maildir_ops;
	snprintf(m->dir, sizeof m->dir, "%s", dir);
	for (int i = 0; i < 3; i++) {
		static const char *const subs[] = {"tmp", "new", "cur"};
		snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
		if (mkdir_p(sub) < 0) {
			kz_err_set(err, 500, "maildir", "", "cannot create the Maildir %s: %s", sub,
				   strerror(errno));
			free(m);
			return NULL;
		}
	}
	return &m->base;
}
