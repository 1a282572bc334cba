/*
 * claim.c - claims on a spool folder's files (see claim.h): renames that
 * one run wins, and a lease per run whose lock says whether it lives.
 *
 * Every move is a rename within the folder's file system, made with
 * RENAME_NOREPLACE where the file system has it: a claim never replaces a
 * file, and a file put back never replaces a newer one of the same name.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claim.h"
#include "log.h"

#define CLAIMED ".claimed"
#define QUARANTINE ".quarantine"
#define LEASE ".run,"		/* + owner: a live run's lease (dot-files in .claimed/ are never claims) */
#define LEASE_NEW ".new,"	/* + owner: the same, before it is locked */

G_DEFINE_QUARK(sink-claims-error-quark, sink_claims_error)

/* rename(2) that never replaces: EEXIST when `to` is there. */
static int
move(int from_fd, const char *from, int to_fd, const char *to)
{
	struct stat st;

	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without RENAME_NOREPLACE: a check, then a plain rename */
	if (fstatat(to_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(from_fd, from, to_fd, to);
}

/* This run's name: the host (without the characters the names use), the pid and a random number. */
static char *
owner_name(void)
{
	g_autofree char *host = g_strndup(g_get_host_name(), 64);

	g_strcanon(host, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "-._", '_');
	return g_strdup_printf("%s:%ld:%08x", host, (long)getpid(), g_random_int());
}

/*
 * What a run as root makes in the folder (.claimed/, .quarantine/, its
 * lease) goes to the folder's owner and group (sink_give_to_folder_owner):
 * a run by hand as root must not leave PMTA's user a .claimed/ it cannot
 * write, or a dead run's lease it cannot lock (that run's claims would
 * never be taken over).
 */
static void
give_to_folder_owner(const SinkClaims *c, int fd, gboolean is_folder)
{
	struct stat st;

	if (fstat(c->dir_fd, &st) == 0)
		sink_give_to_folder_owner(fd, &st, is_folder);
}

/*
 * Why .claimed/ may refuse this run (err EACCES): another user's, made by
 * a run by hand as root before runs gave it to the folder's owner.  "" when
 * not that.  Static: for the error message made at once.
 */
static const char *
whose_claims(const SinkClaims *c, int err)
{
	static char why[160];
	struct stat st;

	if (err != EACCES || fstatat(c->dir_fd, CLAIMED, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid == geteuid())
		return "";
	g_snprintf(why, sizeof why, " (" CLAIMED "/ belongs to uid %ld, this run is uid %ld: give it and what is in "
		   "it to the user the spool runs as)", (long)st.st_uid, (long)geteuid());
	return why;
}

/* This run's lease, made under a temporary name, locked, then renamed into place: its descriptor, or -1 (errno). */
static int
take_lease(SinkClaims *c)
{
	g_autofree char *fresh = g_strconcat(LEASE_NEW, c->owner, NULL), *lease = g_strconcat(LEASE, c->owner, NULL);
	int fd, saved;

	if ((fd = openat(c->claimed_fd, fresh, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0)
		return -1;
	give_to_folder_owner(c, fd, FALSE);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || renameat(c->claimed_fd, fresh, c->claimed_fd, lease) < 0) {
		saved = errno;
		unlinkat(c->claimed_fd, fresh, 0);
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

gboolean
sink_claims_open(SinkClaims *c, const char *dir, GError **error)
{
	g_autofree char *lease = NULL;
	gboolean made;
	int saved;

	*c = (SinkClaims){ .dir = g_strdup(dir), .dir_fd = -1, .claimed_fd = -1, .quarantine_fd = -1, .lease_fd = -1 };
	if ((c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		saved = errno;
		g_set_error(error, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_FOLDER, "%s: %s", dir, g_strerror(saved));
		goto fail;
	}
	made = mkdirat(c->dir_fd, CLAIMED, 0750) == 0;
	if ((!made && errno != EEXIST) ||
	    (c->claimed_fd = openat(c->dir_fd, CLAIMED, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		saved = errno;
		g_set_error(error, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_CLAIMS, "%s/" CLAIMED ": %s%s", dir,
			    g_strerror(saved), whose_claims(c, saved));
		goto fail;
	}
	if (made)
		give_to_folder_owner(c, c->claimed_fd, TRUE);
	c->owner = owner_name();
	lease = g_strconcat(LEASE, c->owner, NULL);
	if ((c->lease_fd = take_lease(c)) < 0) {
		saved = errno;
		g_set_error(error, SINK_CLAIMS_ERROR, SINK_CLAIMS_ERROR_CLAIMS, "%s/" CLAIMED "/%s: %s%s", dir, lease,
			    g_strerror(saved), whose_claims(c, saved));
		goto fail;
	}
	return TRUE;
fail:
	sink_claims_close(c);
	return FALSE;
}

void
sink_claims_close(SinkClaims *c)
{
	if (c->lease_fd >= 0) {
		g_autofree char *lease = g_strconcat(LEASE, c->owner, NULL);

		unlinkat(c->claimed_fd, lease, 0);	/* while still locked: no run sees it free and in place */
		close(c->lease_fd);
	}
	if (c->quarantine_fd >= 0)
		close(c->quarantine_fd);
	if (c->claimed_fd >= 0)
		close(c->claimed_fd);
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	c->dir_fd = c->claimed_fd = c->quarantine_fd = c->lease_fd = -1;
	g_clear_pointer(&c->dir, g_free);
	g_clear_pointer(&c->owner, g_free);
}

char *
sink_claims_take(SinkClaims *c, const char *name, const char *from)
{
	char *claim = g_strconcat(name, ",", c->owner, NULL);
	int saved;

	if (strlen(claim) > NAME_MAX) {
		g_free(claim);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (move(from ? c->claimed_fd : c->dir_fd, from ? from : name, c->claimed_fd, claim) == 0)
		return claim;
	saved = errno;
	g_free(claim);
	errno = saved;
	return NULL;
}

int
sink_claims_open_file(SinkClaims *c, const char *claim)
{
	return openat(c->claimed_fd, claim, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

gboolean
sink_claims_done(SinkClaims *c, const char *claim)
{
	return unlinkat(c->claimed_fd, claim, 0) == 0;
}

gboolean
sink_claims_put_back(SinkClaims *c, const char *claim, const char *name)
{
	return move(c->claimed_fd, claim, c->dir_fd, name) == 0;
}

char *
sink_claims_quarantine(SinkClaims *c, const char *claim, const char *name)
{
	if (c->quarantine_fd < 0) {
		gboolean made = mkdirat(c->dir_fd, QUARANTINE, 0750) == 0;

		if ((!made && errno != EEXIST) ||
		    (c->quarantine_fd = openat(c->dir_fd, QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return NULL;
		if (made)
			give_to_folder_owner(c, c->quarantine_fd, TRUE);
	}
	if (move(c->claimed_fd, claim, c->quarantine_fd, name) == 0)
		return g_strdup(name);
	if (errno == EEXIST && move(c->claimed_fd, claim, c->quarantine_fd, claim) == 0)
		return g_strdup(claim);
	return NULL;
}

/* What sink_claims_stale knows of an owner: its lease's descriptor, locked by us when the owner is gone. */
enum { OWNER_ALIVE = -2, OWNER_NO_LEASE = -1 };

/* A file time in microseconds since the epoch. */
static gint64
usec(const struct timespec *t)
{
	return (gint64)t->tv_sec * G_USEC_PER_SEC + t->tv_nsec / 1000;
}

/* The last beat (real time, microseconds) of the run whose lease fd is; 0 when unknown. */
static gint64
last_beat(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	return usec(&st.st_mtim);
}

gboolean
sink_claims_fd_gone(int fd)
{
	struct stat st;

	/* (on NFS a file another host deleted is ESTALE, not a link count of 0) */
	return fstat(fd, &st) == 0 ? st.st_nlink == 0 : errno == ESTALE;
}

gint64
sink_claims_renew(SinkClaims *c)
{
	gint64 now;
	int fd;

	if (c->lease_fd < 0)
		return g_get_real_time();
	/* gone from the folder (a host that could not see our lock took it for a dead run's): made again */
	if (sink_claims_fd_gone(c->lease_fd) && (fd = take_lease(c)) >= 0) {
		close(c->lease_fd);
		c->lease_fd = fd;
	}
	/* its times now (on NFS, the server's clock: the one the claims' times are in) */
	if (futimens(c->lease_fd, NULL) == 0 && (now = last_beat(c->lease_fd)) > 0)
		return now;
	return g_get_real_time();
}

/*
 * Whether `owner`'s run is gone: its lease missing, or not locked (we lock
 * it then, until the scan ends).  A lease that cannot be opened for
 * another reason counts as alive: nothing is taken on a guess.
 */
static gboolean
owner_gone(SinkClaims *c, GHashTable *owners, const char *owner)
{
	g_autofree char *lease = NULL;
	gpointer known;
	int fd;

	if (g_hash_table_lookup_extended(owners, owner, NULL, &known))
		return GPOINTER_TO_INT(known) != OWNER_ALIVE;
	lease = g_strconcat(LEASE, owner, NULL);
	/* for writing: on NFS, flock(2) is a byte-range lock, and an exclusive one needs a file open for writing */
	fd = openat(c->claimed_fd, lease, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fd = openat(c->claimed_fd, lease, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fd = errno == ENOENT ? OWNER_NO_LEASE : OWNER_ALIVE;
	else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		fd = OWNER_ALIVE;
	}
	g_hash_table_insert(owners, g_strdup(owner), GINT_TO_POINTER(fd));
	return fd != OWNER_ALIVE;
}

static void
stale_claim_free(gpointer p)
{
	SinkStaleClaim *s = p;

	g_free(s->claim);
	g_free(s->name);
	g_free(s->owner);
	g_free(s);
}

GPtrArray *
sink_claims_stale(SinkClaims *c, int timeout_s, int *wake_s)
{
	GPtrArray *stale = g_ptr_array_new_with_free_func(stale_claim_free);
	g_autoptr(GHashTable) owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GHashTable) holding = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) leases = g_ptr_array_new_with_free_func(g_free);
	gint64 now = sink_claims_renew(c), limit = (gint64)timeout_s * G_USEC_PER_SEC;
	GHashTableIter it;
	gpointer key, value;
	struct dirent *e;
	DIR *d;
	int fd;

	*wake_s = -1;
	if ((fd = openat(c->claimed_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return stale;
	}
	while ((e = readdir(d)) != NULL) {
		const char *comma = strrchr(e->d_name, ','), *owner;
		struct stat st;
		gint64 age;

		if (e->d_name[0] == '.') {
			if (g_str_has_prefix(e->d_name, LEASE))
				g_ptr_array_add(leases, g_strdup(e->d_name + strlen(LEASE)));
			continue;
		}
		if (comma == NULL || comma == e->d_name || strcmp(owner = comma + 1, c->owner) == 0)
			continue;	/* not a claim, or ours */
		g_hash_table_add(holding, g_strdup(owner));
		if (!owner_gone(c, owners, owner) || fstatat(c->claimed_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* from the later of the claim (the rename that made it) and its run's last beat */
		age = now - MAX(usec(&st.st_ctim), last_beat(GPOINTER_TO_INT(g_hash_table_lookup(owners, owner))));
		age = MAX(age, 0);	/* (a time ahead of ours: as new) */
		if (age < limit) {
			int left = (int)((limit - age + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);

			*wake_s = *wake_s < 0 ? left : MIN(*wake_s, left);
			continue;
		}
		SinkStaleClaim *s = g_new0(SinkStaleClaim, 1);
		s->claim = g_strdup(e->d_name);
		s->name = g_strndup(e->d_name, (gsize)(comma - e->d_name));
		s->owner = g_strdup(owner);
		g_ptr_array_add(stale, s);
	}
	closedir(d);
	/* a gone run's lease with no claim left: removed, while we hold its lock */
	for (guint i = 0; i < leases->len; i++) {
		const char *owner = leases->pdata[i];

		/* (its beat old too: a lock this host cannot see may still be held on another) */
		if (strcmp(owner, c->owner) != 0 && !g_hash_table_contains(holding, owner) &&
		    owner_gone(c, owners, owner) &&
		    now - last_beat(GPOINTER_TO_INT(g_hash_table_lookup(owners, owner))) >= limit) {
			g_autofree char *lease = g_strconcat(LEASE, owner, NULL);
			unlinkat(c->claimed_fd, lease, 0);
		}
	}
	g_hash_table_iter_init(&it, owners);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (GPOINTER_TO_INT(value) >= 0)
			close(GPOINTER_TO_INT(value));
	return stale;
}
