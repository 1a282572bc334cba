/*
 * spool.c - sink-filterd's spool mode (see spool.h): which file runs when.
 *
 * One process, one poll(2) loop: it looks at the folder (its message files
 * by age, oldest first, and the claims of runs that are gone), and while
 * fewer than IN_FLIGHT(o->jobs) messages are out it claims the next file
 * and hands it to its private pool (pool.h: sink-filterd's children on a
 * socket of their own, o->jobs of them, started with the first message, so
 * an empty folder forks nothing).  A run's answer ("exit N") decides what
 * becomes of the claim.  Stopping (SIGTERM) stops the pool: the messages
 * running finish, those waiting for a child come back refused and go back
 * into the folder.  With
 * watch, inotify names each file closed after writing or moved into the
 * folder, and the folder is looked at again every RESCAN_S seconds for
 * what no event names (claims coming of age, files to retry).  A spool
 * killed outright takes its pool with it, and the runs it had going end:
 * their claims are left for the next run to take over.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "claim.h"
#include "pool.h"
#include "spool.h"

#define SETTLE_S 2		/* a file changed this recently may still be being written */
#define CLAIM_MARGIN_S 2	/* beyond Message_Timeout, before a gone run's claim is taken over */
#define RESCAN_S 10		/* with watch: the whole folder looked at this often */
#define RETRY_S 60		/* with watch: a file put back runs again after this long (PMTA's retry-after 1m) */
#define BEAT_MS 1000		/* while it holds claims, the run's lease is touched this often (claim.h) */
#define NEVER G_MAXINT64
/*
 * Messages handed to the pool at once: o->jobs run, and three times as many
 * wait in its socket's backlog, each claimed, so that a child that answers
 * finds its next message there rather than waiting for this loop to wake,
 * take the answer and claim the next file; and this loop, woken, finds
 * several answers to take at once.  Measured on 2 cores (t/bench/run, DKIM
 * header): one at a time 5,000 messages a second, twice -j 8,300, four
 * times 9,600, eight times no more.  At most 64 wait: each holds two or
 * three descriptors here (set_up raises the limit on them as far as it goes).
 */
#define IN_FLIGHT(jobs) ((jobs) + MIN((jobs) * 3, 64))

/* A file to run: DIR/name, or a gone run's claim of it to take over. */
typedef struct {
	char *name;
	char *from;		/* the claim to take over; NULL: the file in the folder */
	char *owner;		/* whose claim it was */
	gint64 mtime;		/* the order of a look at the folder: oldest first */
} Task;

/* A message running: the connection to the pool child that runs it. */
typedef struct {
	int conn;		/* -1: the slot is free */
	int file;
	int out;		/* capture_stdout: the run's standard output (a memfd); else -1 */
	char *name, *claim;
} Slot;

typedef struct {
	const SinkSpoolOptions *o;
	SinkSpoolResult *res;
	SinkClaims claims;
	Slot *slots;
	guint busy;
	GQueue tasks;
	GHashTable *queued;	/* the names queued or running, and "/<claim>" of claims queued */
	GHashTable *later;	/* name -> gint64 *: not before this (monotonic); NEVER: not in this run */
	GHashTable *told;	/* names already said to be left alone */
	GHashTable *writing;	/* names put back because their writer still had them open (with watch: run
				 * as soon as it closes them) */
	gboolean leases_tell;	/* the folder's file system is local: a read lease tells a writer (open_for_writing) */
	/* one-shot: the message names the first look saw (settled or not), the only files the run takes, so
	 * that it ends while mail keeps coming (the next cron run takes what came since; a gone run's claims
	 * are taken whenever they come of age); NULL: every name */
	GHashTable *first;
	gboolean looked;
	SinkPool pool;
	int sig_fd, ino_fd;
	gboolean stopping;
	gboolean pool_stopped;	/* told to stop: it refuses the messages waiting for a child, and exits */
	GError *failure;	/* why it stopped, when it could not go on */
	gboolean out_failed;
	gint64 next_look;	/* monotonic; NEVER: no need (once over: done when idle) */
	gint64 beat;		/* monotonic: the lease last touched */
} Spool;

static void G_GNUC_PRINTF(2, 3)
say(const Spool *s, const char *fmt, ...)
{
	g_autofree char *line = NULL, *full = NULL;
	va_list ap;

	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	full = g_strdup_printf("spool %s: %s", s->o->dir, line);
	s->o->log(full);
}

static void
task_free(Task *t)
{
	g_free(t->name);
	g_free(t->from);
	g_free(t->owner);
	g_free(t);
}

/* ---- a claim's end ----------------------------------------------------------------------------- */

static void
run_later(Spool *s, const char *name)
{
	gint64 *when = g_new(gint64, 1);

	*when = s->o->watch ? g_get_monotonic_time() + RETRY_S * G_USEC_PER_SEC : NEVER;
	g_hash_table_insert(s->later, g_strdup(name), when);
}

/* Put claim back in the folder as name, saying so with why and `when` it runs again; FALSE when it could not be. */
static gboolean
claim_back(Spool *s, const char *claim, const char *name, const char *why, const char *when)
{
	if (sink_claims_put_back(&s->claims, claim, name)) {
		say(s, "%s: %s; back in the folder for %s", name, why, when);
		return TRUE;
	}
	if (errno == ENOENT)
		say(s, "%s: %s, and its claim .claimed/%s is gone (removed by hand): the message with it", name, why,
		    claim);
	else
		say(s, "%s: %s, and it cannot be put back (%s): .claimed/%s stays until a later run takes it over",
		    name, why, g_strerror(errno), claim);
	return FALSE;
}

static void
put_back(Spool *s, const char *claim, const char *name, const char *why)
{
	claim_back(s, claim, name, why, s->o->watch ? "a retry in " G_STRINGIFY(RETRY_S) " s" : "the next run");
	run_later(s, name);
	s->res->deferred++;
}

/* A message handed to the pool that no child had started when it stopped: the rest of the folder, as it was. */
static void
put_back_unstarted(Spool *s, const char *claim, const char *name)
{
	if (claim_back(s, claim, name, "not started before the stop", "the next run"))
		s->res->unstarted++;
	else
		s->res->deferred++;
}

/*
 * Whether the file system of fd (the folder) is a local one, on which a
 * read lease tells whether a process has a file open for writing.  On a
 * network file system it cannot (a writer on another host), and NFSv4 and
 * SMB refuse a lease with the same EAGAIN whenever the server gave no
 * delegation or oplock: there, and on any file system not known here, the
 * settle time is the only guard.
 */
static gboolean
local_file_system(int fd)
{
	static const long local[] = {
		0xEF53,		/* ext2, ext3, ext4 */
		0x58465342,	/* XFS */
		0x9123683E,	/* Btrfs */
		0x01021994,	/* tmpfs */
		0x794C7630,	/* overlayfs */
		0xF2F52010,	/* F2FS */
		0x2FC12FC1,	/* ZFS */
	};
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return FALSE;
	for (size_t i = 0; i < G_N_ELEMENTS(local); i++)
		if ((long)sf.f_type == local[i])
			return TRUE;
	return FALSE;
}

/*
 * Whether a process has fd's file open for writing: a read lease cannot be
 * had while one does (fcntl(2) F_SETLEASE: EAGAIN); taken and let go at
 * once.  Only on a local file system (s->leases_tell); FALSE too when a
 * lease cannot tell there: another user's file without CAP_LEASE (EACCES).
 */
static gboolean
open_for_writing(const Spool *s, int fd)
{
	if (!s->leases_tell)
		return FALSE;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		(void)fcntl(fd, F_SETLEASE, F_UNLCK);
		return FALSE;
	}
	return errno == EAGAIN;
}

/*
 * The claimed file is still open for writing (its writer stalled past the
 * settle time, or keeps it open): back in the folder, not run, not a
 * deferral; with watch it runs when its writer closes it (or at the retry),
 * else at the next run.
 */
static void
still_written(Spool *s, const char *claim, const char *name)
{
	if (!claim_back(s, claim, name, "still open for writing (its writer has not closed it)",
			s->o->watch ? "when its writer closes it" : "the next run"))
		s->res->deferred++;	/* (its claim stays: a later run takes it over) */
	run_later(s, name);
	g_hash_table_add(s->writing, g_strdup(name));
}

static void
quarantine(Spool *s, const char *claim, const char *name, const char *why)
{
	g_autofree char *as = sink_claims_quarantine(&s->claims, claim, name);

	if (as)
		say(s, "%s: %s; moved to .quarantine/%s", name, why, as);
	else
		say(s, "%s: %s, and it cannot be moved to .quarantine/ (%s): .claimed/%s stays until a later run "
		    "takes it over", name, why, g_strerror(errno), claim);
	run_later(s, name);
	s->res->quarantined++;
}

/* The run's beat (claim.h), when one is due: at least every BEAT_MS while it holds claims. */
static void
beat(Spool *s)
{
	gint64 t = g_get_monotonic_time();

	if (t - s->beat >= BEAT_MS * 1000) {
		sink_claims_renew(&s->claims);
		s->beat = t;
	}
}

/*
 * A run's standard output, captured whole: written out in one go, then the
 * memfd emptied for the next.  A reader slow to take it holds the loop
 * here, and the claims with it: the run beats meanwhile (writing a pipe's
 * worth at a time once it can take some, so that no write blocks long).
 */
static void
write_out(Spool *s, int out)
{
	struct stat st;

	if (fstat(out, &st) == 0 && st.st_size > 0) {
		g_autofree char *buf = g_malloc((gsize)st.st_size);
		ssize_t got = pread(out, buf, (size_t)st.st_size, 0), done = 0, n = 0;
		const char *failed = got < 0 ? g_strerror(errno) : NULL;

		while (failed == NULL && done < got) {
			struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

			beat(s);
			if (poll(&p, 1, BEAT_MS) == 0)
				continue;
			if ((n = write(STDOUT_FILENO, buf + done, (size_t)MIN(got - done, PIPE_BUF))) > 0)
				done += n;
			else if (n < 0 && errno != EINTR)
				failed = g_strerror(errno);
		}
		if (failed && !s->out_failed) {
			s->out_failed = TRUE;	/* said once: the messages still run, count and log */
			say(s, "standard output: %s; the records written there are lost", failed);
		}
	}
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
		say(s, "cannot empty a run's output buffer: %s", g_strerror(errno));
}

/* The pool answered for slot's message (or the connection closed): done, put back or quarantined. */
static void
finish(Spool *s, Slot *slot)
{
	g_autofree char *refusal = NULL, *why = NULL;
	int status = -1;
	SinkPoolAnswer answer = sink_pool_answer(slot->conn, &status, &refusal);

	close(slot->file);
	slot->conn = slot->file = -1;
	if (slot->out >= 0)	/* (before the claim ends: a slow reader of the records holds the claim) */
		write_out(s, slot->out);
	if (answer == SINK_POOL_EXIT && status == 0) {
		if (!sink_claims_done(&s->claims, slot->claim))
			say(s, "%s: done, but its claim cannot be removed: %s", slot->name, g_strerror(errno));
		s->res->done++;
	} else if (answer == SINK_POOL_EXIT && (status == EX_TEMPFAIL || status == EX_OSERR || status == EX_IOERR)) {
		why = g_strdup_printf("its run asked for a retry (exit %d)", status);
		put_back(s, slot->claim, slot->name, why);
	} else if (answer == SINK_POOL_EXIT) {
		why = g_strdup_printf("its run exited %d", status);
		quarantine(s, slot->claim, slot->name, why);
	} else if (answer == SINK_POOL_REFUSED && s->pool_stopped && g_strcmp0(refusal, SINK_WIRE_STOPPING) == 0) {
		put_back_unstarted(s, slot->claim, slot->name);
	} else if (answer == SINK_POOL_REFUSED) {
		why = g_strdup_printf("the pool did not take it (%s)", refusal);
		put_back(s, slot->claim, slot->name, why);
	} else {
		put_back(s, slot->claim, slot->name, "its run died before it answered");
	}
	g_hash_table_remove(s->queued, slot->name);
	g_clear_pointer(&slot->name, g_free);
	g_clear_pointer(&slot->claim, g_free);
	s->busy--;
}

/* ---- a claim's start --------------------------------------------------------------------------- */

/* What keeps this run from going on (not the file's fault): the file back in the folder, and the run stops. */
static void
stop_on(Spool *s, const char *claim, const char *name, const char *why)
{
	put_back(s, claim, name, why);
	if (s->failure == NULL)
		g_set_error(&s->failure, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", why);
	s->stopping = TRUE;
}

/* In the pool's process: what of the spool it must not hold (the lease it keeps: claim.h). */
static void
pool_child(gpointer data)
{
	Spool *s = data;

	close(s->sig_fd);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	signal(SIGIO, SIG_DFL);
}

/* Claim t's file and hand it to the pool in a free slot; or say why not. Frees t. */
static void
start(Spool *s, Task *t)
{
	Slot *slot = s->slots;
	g_autofree char *claim = NULL, *why = NULL;
	g_autoptr(GError) error = NULL;
	struct stat st;

	if (t->from) {
		g_autofree char *key = g_strconcat("/", t->from, NULL);
		g_hash_table_remove(s->queued, key);
	} else {
		g_hash_table_remove(s->queued, t->name);
	}
	while (slot->conn >= 0)
		slot++;
	if ((claim = sink_claims_take(&s->claims, t->name, t->from)) == NULL) {
		int err = errno;

		if (sink_claims_fd_gone(s->claims.claimed_fd)) {
			/* not another run's doing: .claimed/ itself was removed, and nothing can be claimed now */
			if (s->failure == NULL)
				g_set_error(&s->failure, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_CLAIMS,
					    "%s/.claimed/ was removed while the run went on: nothing more can be "
					    "claimed (the next run makes it again)", s->o->dir);
			s->stopping = TRUE;
		} else if (err != ENOENT) {
			say(s, "%s: cannot be claimed: %s; left alone", t->name, g_strerror(err));
			run_later(s, t->name);
		}	/* else another run has it, or it went */
		goto out;
	}
	if (t->from)
		say(s, "%s: taken over from the claim of run %s, which is gone", t->name, t->owner);
	if ((slot->file = sink_claims_open_file(&s->claims, claim)) < 0 &&
	    (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) {
		/* this process's or the system's limits */
		why = g_strdup_printf("cannot be opened now: %s", g_strerror(errno));
		stop_on(s, claim, t->name, why);
		goto out;
	}
	if (slot->file < 0)
		why = g_strdup_printf("cannot be read: %s", g_strerror(errno));
	else if (fstat(slot->file, &st) < 0 || !S_ISREG(st.st_mode))
		why = g_strdup("not a regular file");
	else if (st.st_size == 0 && !open_for_writing(s, slot->file))
		why = g_strdup("empty, not a message");
	if (why) {
		quarantine(s, claim, t->name, why);
		goto out;
	}
	if (open_for_writing(s, slot->file)) {
		still_written(s, claim, t->name);
		goto out;
	}
	if (g_hash_table_size(s->writing) > 0)
		g_hash_table_remove(s->writing, t->name);	/* (closed since) */
	if (s->o->capture_stdout && slot->out < 0 && (slot->out = memfd_create("sink-spool-output", MFD_CLOEXEC)) < 0)
		why = g_strdup_printf("no buffer for its output: %s", g_strerror(errno));
	else if (s->pool.pid == 0 && !sink_pool_start(&s->pool, pool_child, s, &error))
		why = g_strdup_printf("the message pool cannot start: %s", error->message);
	else if (s->pool.pid < 0 ||
		 (slot->conn = sink_pool_hand_over(&s->pool, slot->file, slot->out >= 0 ? slot->out : STDOUT_FILENO)) < 0)
		why = g_strdup_printf("the message pool cannot take it: %s",
				      s->pool.pid < 0 ? "it is gone" : g_strerror(errno));
	if (why) {
		stop_on(s, claim, t->name, why);
		goto out;
	}
	slot->name = g_strdup(t->name);
	slot->claim = g_steal_pointer(&claim);
	g_hash_table_add(s->queued, g_strdup(t->name));
	s->busy++;
out:
	if (slot->file >= 0 && slot->conn < 0) {
		close(slot->file);
		slot->file = -1;
	}
	task_free(t);
}

/* ---- looking at the folder --------------------------------------------------------------------- */

static gboolean
is_message_name(const char *name)
{
	return name[0] != '.' && (g_str_has_suffix(name, ".msg") || g_str_has_suffix(name, ".eml"));
}

/* Whether name may be queued now: not queued or running already, and not waiting for a retry. */
static gboolean
may_queue(Spool *s, const char *name)
{
	const gint64 *until;

	if (g_hash_table_contains(s->queued, name))
		return FALSE;
	if ((until = g_hash_table_lookup(s->later, name)) != NULL) {
		if (g_get_monotonic_time() < *until)
			return FALSE;
		g_hash_table_remove(s->later, name);
	}
	return TRUE;
}

/* A `later` entry whose time has come (a GHRFunc) */
static gboolean
ripe(gpointer name, gpointer until, gpointer unused)
{
	return g_get_monotonic_time() >= *(const gint64 *)until;
}

static void
queue(Spool *s, Task *t)
{
	g_hash_table_add(s->queued, t->from ? g_strconcat("/", t->from, NULL) : g_strdup(t->name));
	g_queue_push_tail(&s->tasks, t);
}

static void
tell_once(Spool *s, const char *name, const char *what)
{
	if (g_hash_table_contains(s->told, name))
		return;
	g_hash_table_add(s->told, g_strdup(name));
	say(s, "%s: %s; left alone", name, what);
}

/* What a message file's name and lstat say: NULL when it may run, else why it is left alone. */
static const char *
not_a_file(const struct stat *st)
{
	return S_ISREG(st->st_mode) ? NULL : S_ISDIR(st->st_mode) ? "a folder, not a message file" :
	       S_ISLNK(st->st_mode) ? "a symbolic link, not a message file" : "not a regular file";
}

static int
older_first(gconstpointer a, gconstpointer b)
{
	const Task *x = *(Task *const *)a, *y = *(Task *const *)b;

	return x->mtime != y->mtime ? (x->mtime < y->mtime ? -1 : 1) : strcmp(x->name, y->name);
}

/*
 * Queue what may run: the claims of gone runs that have come of age, then
 * the message files settled (unchanged for SETTLE_S), oldest first.
 * Returns the seconds until something not yet ripe will be (-1: nothing).
 */
static int
look(Spool *s)
{
	g_autoptr(GPtrArray) stale = NULL, found = g_ptr_array_new();
	/* the folder's clock (on NFS, the server's: the one its files' times are in), and the run's beat */
	gint64 now = (s->beat = g_get_monotonic_time(), sink_claims_renew(&s->claims));
	struct dirent *e;
	DIR *d;
	int fd, wake;
	guint entries = 0;

	g_hash_table_foreach_remove(s->later, ripe, NULL);	/* (names gone from the folder are forgotten too) */
	stale = sink_claims_stale(&s->claims, s->o->claim_timeout_s + CLAIM_MARGIN_S, &wake);
	for (guint i = 0; i < stale->len; i++) {
		SinkStaleClaim *c = stale->pdata[i];
		g_autofree char *key = g_strconcat("/", c->claim, NULL);
		Task *t;

		if (g_hash_table_contains(s->queued, key) || !may_queue(s, c->name))
			continue;	/* (one that could not be taken over waits as a file put back does) */
		t = g_new0(Task, 1);
		t->name = g_strdup(c->name);
		t->from = g_strdup(c->claim);
		t->owner = g_strdup(c->owner);
		queue(s, t);
	}
	if ((fd = openat(s->claims.dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		say(s, "cannot read the folder: %s", g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return wake;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		const char *why;
		gint64 age;

		if (++entries % 256 == 0)
			beat(s);	/* (a long look at a large folder keeps the claims held) */
		if (!is_message_name(e->d_name))
			continue;
		if (s->first && !s->looked)
			g_hash_table_add(s->first, g_strdup(e->d_name));
		else if (s->first && !g_hash_table_contains(s->first, e->d_name))
			continue;	/* (come since this one-shot run began: the next run's) */
		if (!may_queue(s, e->d_name) || fstatat(s->claims.dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if ((why = not_a_file(&st)) != NULL) {
			tell_once(s, e->d_name, why);
			continue;
		}
		age = now - ((gint64)st.st_mtim.tv_sec * G_USEC_PER_SEC + st.st_mtim.tv_nsec / 1000);
		/* a time a little ahead is a file being written by a clock a little ahead (another host's); one
		 * far ahead cannot be waited for */
		if (age > -SETTLE_S * G_USEC_PER_SEC && age < SETTLE_S * G_USEC_PER_SEC) {
			int left = (int)((SETTLE_S * G_USEC_PER_SEC - age + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);

			wake = wake < 0 ? left : MIN(wake, left);
			continue;
		}
		Task *t = g_new0(Task, 1);
		t->name = g_strdup(e->d_name);
		t->mtime = now - age;
		g_ptr_array_add(found, t);
	}
	closedir(d);
	s->looked = TRUE;
	g_ptr_array_sort(found, older_first);
	for (guint i = 0; i < found->len; i++)
		queue(s, found->pdata[i]);
	return wake;
}

/* With watch: the names inotify gives (written and closed, or moved in) are queued at once. */
static void
read_events(Spool *s)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(s->ino_fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			struct stat st;

			p += sizeof *ev + ev->len;
			if (ev->len > 0 && (ev->mask & IN_CLOSE_WRITE) && g_hash_table_remove(s->writing, ev->name))
				g_hash_table_remove(s->later, ev->name);	/* its writer closed it: it may run */
			if (ev->mask & IN_Q_OVERFLOW) {
				s->next_look = 0;	/* events were lost: look at the whole folder */
			} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
				if (s->failure == NULL)
					g_set_error(&s->failure, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_FOLDER,
						    "%s: the folder was removed or moved away; stopping", s->o->dir);
				s->stopping = TRUE;
			} else if (ev->len > 0 && !s->stopping && !(ev->mask & IN_ISDIR) && is_message_name(ev->name) &&
				   may_queue(s, ev->name) &&
				   fstatat(s->claims.dir_fd, ev->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
				const char *why = not_a_file(&st);

				if (why) {
					tell_once(s, ev->name, why);
				} else {
					Task *t = g_new0(Task, 1);
					t->name = g_strdup(ev->name);
					queue(s, t);
				}
			}
		}
	}
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static const int spool_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

static gboolean
set_up(Spool *s, GError **error)
{
	SinkServerOptions so = {
		.max_children = s->o->jobs,
		.spare = s->o->jobs,
		.runs_per_child = s->o->runs_per_child,
		.run = s->o->run,
		.log = s->o->log,
	};
	sigset_t set;
	struct rlimit nofile;
	int saved;

	if (!sink_pool_init(&s->pool, &so, s->o->run_argc, s->o->run_argv, error))
		return FALSE;
	/* a message out holds its file, its connection and maybe an output buffer: a large -j needs more
	 * descriptors than the usual soft limit of 1024 (the pool's children get it too, harmlessly) */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
	sigemptyset(&set);
	for (size_t i = 0; i < G_N_ELEMENTS(spool_signals); i++)
		sigaddset(&set, spool_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		goto fail;
	/* blocked now; a SIGCHLD left ignored would have the kernel reap the pool unseen (server.c) */
	for (size_t i = 0; i < G_N_ELEMENTS(spool_signals); i++)
		signal(spool_signals[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* a lease (open_for_writing) broken in the instant it is held would send SIGIO, which kills */
	signal(SIGIO, SIG_IGN);
	if (s->o->watch) {
		if ((s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
			goto fail;
		if (inotify_add_watch(s->ino_fd, s->o->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
				      IN_ONLYDIR) < 0) {
			saved = errno;
			g_set_error(error, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_FOLDER, "%s: cannot be watched: %s",
				    s->o->dir, g_strerror(saved));
			return FALSE;
		}
	}
	return TRUE;
fail:
	saved = errno;
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "spool set-up: %s", g_strerror(saved));
	return FALSE;
}

/* The signals on the signalfd: TERM and INT stop, CHLD is the pool's end, HUP is ignored. */
static void
read_signals(Spool *s)
{
	struct signalfd_siginfo si;
	int status;

	while (read(s->sig_fd, &si, sizeof si) == sizeof si) {
		if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !s->stopping) {
			say(s, "stopping: %u message(s) running; the rest stays in the folder", MIN(s->busy, s->o->jobs));
			s->stopping = TRUE;
		} else if (si.ssi_signo == SIGCHLD && sink_pool_ended(&s->pool, &status) && !s->pool_stopped) {
			/* only the spool stops it: this is a failure */
			g_clear_error(&s->failure);
			g_set_error(&s->failure, G_FILE_ERROR, G_FILE_ERROR_FAILED, "the message pool %s %d; stopping",
				    WIFSIGNALED(status) ? "died of signal" : "exited",
				    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			s->stopping = TRUE;
		}
	}
}

gboolean
sink_spool_run(const SinkSpoolOptions *o, SinkSpoolResult *result, GError **error)
{
	Spool s = { .o = o, .res = result, .sig_fd = -1, .ino_fd = -1, .pool = { .cwd_fd = -1 } };
	guint slots = IN_FLIGHT(o->jobs);
	struct pollfd *pfd = g_new(struct pollfd, slots + 2);
	Slot **polled = g_new(Slot *, slots + 2);
	gboolean ok = FALSE;

	*result = (SinkSpoolResult){ 0 };
	s.slots = g_new(Slot, slots);
	for (guint i = 0; i < slots; i++)
		s.slots[i] = (Slot){ .conn = -1, .file = -1, .out = -1 };
	g_queue_init(&s.tasks);
	s.queued = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s.later = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	s.told = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s.writing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	s.first = o->watch ? NULL : g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!sink_claims_open(&s.claims, o->dir, error) || !set_up(&s, error))
		goto out;
	s.leases_tell = local_file_system(s.claims.dir_fd);
	if (o->watch)
		say(&s, "watching, %u message(s) at once", o->jobs);

	for (;;) {
		gint64 now = g_get_monotonic_time();
		int n = 0, timeout = -1;

		if (!s.stopping && g_queue_is_empty(&s.tasks) && now >= s.next_look) {
			int wake = look(&s);

			if (o->watch)
				s.next_look = now + (gint64)(wake < 0 ? RESCAN_S : MIN(wake, RESCAN_S)) * G_USEC_PER_SEC;
			else if (!g_queue_is_empty(&s.tasks))
				s.next_look = now;	/* once these are done, look again */
			else
				s.next_look = wake < 0 ? NEVER : now + (gint64)wake * G_USEC_PER_SEC;
		}
		while (!s.stopping && s.busy < slots && !g_queue_is_empty(&s.tasks))
			start(&s, g_queue_pop_head(&s.tasks));
		if (s.busy == 0 && (s.stopping || (!o->watch && g_queue_is_empty(&s.tasks) && s.next_look == NEVER)))
			break;

		if (s.stopping && !s.pool_stopped && s.pool.pid > 0) {
			/* the running messages finish; those waiting in its backlog come back refused */
			kill(s.pool.pid, SIGTERM);
			s.pool_stopped = TRUE;
		}
		pfd[n++] = (struct pollfd){ .fd = s.sig_fd, .events = POLLIN };
		if (s.ino_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = s.ino_fd, .events = POLLIN };
		for (guint i = 0; i < slots; i++)
			if (s.slots[i].conn >= 0) {
				polled[n] = &s.slots[i];
				pfd[n++] = (struct pollfd){ .fd = s.slots[i].conn, .events = POLLIN };
			}
		if (!s.stopping && g_queue_is_empty(&s.tasks) && s.next_look != NEVER)
			timeout = (int)MAX(0, (s.next_look - now + 999) / 1000);
		if (s.busy > 0) {
			/* claims held, waiting or running: the run beats, so no other host takes them (the
			 * clock read again: a look at a large folder may have taken a while) */
			int due;

			beat(&s);
			due = (int)MAX(0, (s.beat + BEAT_MS * 1000 - g_get_monotonic_time() + 999) / 1000);
			timeout = timeout < 0 ? due : MIN(timeout, due);
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			int saved = errno;

			if (saved == EINTR)
				continue;
			if (s.failure == NULL)
				g_set_error(&s.failure, G_FILE_ERROR, g_file_error_from_errno(saved), "poll: %s",
					    g_strerror(saved));
			s.stopping = TRUE;	/* and the running messages are waited for, as on SIGTERM */
			g_usleep(100000);
			continue;
		}
		for (int i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == s.sig_fd)
				read_signals(&s);
			else if (pfd[i].fd == s.ino_fd)
				read_events(&s);
			else
				finish(&s, polled[i]);
		}
	}
	ok = s.failure == NULL;
	if (s.failure)
		g_propagate_error(error, g_steal_pointer(&s.failure));
	if (o->watch)
		say(&s, "stopped: %u done, %u put back, %u quarantined, %u not started", result->done, result->deferred,
		    result->quarantined, result->unstarted);
out:
	sink_pool_stop(&s.pool);
	sink_claims_close(&s.claims);
	for (guint i = 0; i < slots; i++)
		if (s.slots[i].out >= 0)
			close(s.slots[i].out);
	if (s.sig_fd >= 0)
		close(s.sig_fd);
	if (s.ino_fd >= 0)
		close(s.ino_fd);
	g_queue_clear_full(&s.tasks, (GDestroyNotify)task_free);
	g_hash_table_destroy(s.queued);
	g_hash_table_destroy(s.later);
	g_hash_table_destroy(s.told);
	g_hash_table_destroy(s.writing);
	if (s.first)
		g_hash_table_destroy(s.first);
	g_clear_error(&s.failure);
	g_free(s.slots);
	g_free(pfd);
	g_free(polled);
	return ok;
}
