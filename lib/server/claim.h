/*
 * claim.h - claims on a spool folder's files, so that any number of spool
 * runs (cron overlapping itself, hosts sharing the folder) run each file
 * once.
 *
 * A run is an owner, "<host>:<pid>:<8 hex digits>", that holds an
 * exclusive flock(2) on its lease, DIR/.claimed/.run,<owner>, from before
 * its first claim until it is done; the processes it forks inherit the
 * descriptor, so the lock lasts while any of them may still be running
 * one of its messages, and the kernel drops it when the last of them dies,
 * however it dies.  A file DIR/NAME is claimed by renaming it to
 * DIR/.claimed/NAME,<owner>: of runs renaming it at once, one wins.  The
 * claim ends with the message: unlinked (done), renamed back to DIR/NAME
 * (to run later), or into DIR/.quarantine/ (not a message).
 *
 * A claim whose owner is gone (its lease free, or missing) and that is
 * older than the timeout was left by a run that died: another run takes it
 * over with one more rename, which again one run wins.  Its age counts
 * from the later of the rename that made it (its ctime) and its run's last
 * beat: a run touches its lease every second (sink_claims_renew), however
 * long its claims wait or run.  The age guards against a lock that does
 * not reach across hosts (an NFS mount with local_lock=flock): a run that
 * lives keeps beating, and a run of a message is bounded by Message_Timeout.
 */
#ifndef SINK_CLAIM_H
#define SINK_CLAIM_H

#include <glib.h>

#define SINK_CLAIMS_ERROR (sink_claims_error_quark())
GQuark sink_claims_error_quark(void);

typedef enum {
	SINK_CLAIMS_ERROR_FOLDER,	/* the spool folder cannot be opened (or watched) */
	SINK_CLAIMS_ERROR_CLAIMS,	/* .claimed/ or the lease cannot be made */
} SinkClaimsError;

typedef struct {
	char *dir;		/* the spool folder as given, for messages */
	int dir_fd, claimed_fd;
	int quarantine_fd;	/* -1 until a file goes there */
	char *owner;		/* this run: "<host>:<pid>:<hex>" */
	int lease_fd;		/* locked; -1 once closed */
} SinkClaims;

/* A claim left by a run that is gone, to take over. */
typedef struct {
	char *claim;		/* its name in .claimed/ */
	char *name;		/* the file's own name */
	char *owner;		/* the run that left it */
} SinkStaleClaim;

/*
 * sink_claims_open: open the folder, make .claimed/ in it if need be, and
 * take this run's lease (made under a temporary name, locked, then renamed
 * into place, so no run ever sees it unlocked).  FALSE with error set
 * (SINK_CLAIMS_ERROR_FOLDER or _CLAIMS, naming the path); c is then
 * closed.  Close with sink_claims_close.
 */
gboolean sink_claims_open(SinkClaims *c, const char *dir, GError **error);

/*
 * sink_claims_close: remove the lease and close everything.  Claims this
 * run still holds (a file it could not put back) are then a gone run's:
 * another run takes them over after the timeout.  Safe on a closed c.
 */
void sink_claims_close(SinkClaims *c);

/*
 * sink_claims_take: claim DIR/name, or with `from` take over that claim
 * (a gone run's, sink_claims_stale) of the same file.  Returns the new
 * claim's name in .claimed/ (g_free), or NULL with errno set: ENOENT when
 * another run has it already (or it is gone), ENAMETOOLONG when the name
 * leaves no room for the owner.
 */
char *sink_claims_take(SinkClaims *c, const char *name, const char *from);

/*
 * sink_claims_open_file: open the claim to read (never following a link,
 * never blocking on a FIFO); -1 with errno set.
 */
int sink_claims_open_file(SinkClaims *c, const char *claim);

/* sink_claims_done: the message is done: remove its claim.  FALSE with errno set. */
gboolean sink_claims_done(SinkClaims *c, const char *claim);

/*
 * sink_claims_put_back: rename the claim back to DIR/name, for a later
 * run.  FALSE with errno set (EEXIST: a new file took the name).
 */
gboolean sink_claims_put_back(SinkClaims *c, const char *claim, const char *name);

/*
 * sink_claims_quarantine: move the claim to DIR/.quarantine/name, or to
 * the claim's own name there when name is taken.  Returns the name it has
 * there (g_free), or NULL with errno set.
 */
char *sink_claims_quarantine(SinkClaims *c, const char *claim, const char *name);

/*
 * sink_claims_renew: this run's beat: its lease's times set to now (at
 * least every second while it holds claims), the lease made again if
 * another run removed it.  Returns that time, in the folder's clock
 * (microseconds since the epoch).
 */
gint64 sink_claims_renew(SinkClaims *c);

/* sink_claims_fd_gone: whether the file or folder open as fd was removed (a link count of 0, or ESTALE on NFS). */
gboolean sink_claims_fd_gone(int fd);

/*
 * sink_claims_stale: the claims of runs that are gone, older than
 * timeout_s seconds, to take over (SinkStaleClaim; free the array).  Sets
 * *wake_s to the seconds until the next of a gone run's younger claims
 * comes of age, or -1 when there is none.  Removes the leases of gone runs
 * that hold no claim any more.
 */
GPtrArray *sink_claims_stale(SinkClaims *c, int timeout_s, int *wake_s);

#endif
