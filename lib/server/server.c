/*
 * server.c - sink-filterd's loop (see server.h and wire.h).
 *
 * A pre-forking server, like Apache's prefork: the server itself never
 * accepts.  It keeps o->spare children waiting in epoll_wait(2) on the
 * listening socket (EPOLLEXCLUSIVE: a connection wakes one of them); the
 * one that accepts a connection marks its slot busy in a table the server
 * and its children share (and, when fewer than o->spare are left waiting,
 * wakes the server with a byte on a pipe, so that it starts more), checks
 * the client's uid and gid, reads the request, takes on the client's
 * descriptors, directory, umask and environment, runs the message,
 * answers "exit N", puts its own back, marks its slot waiting and waits
 * again; after o->runs_per_child runs it exits.  In the steady state the
 * server sleeps through the messages.  Its one poll(2) watches that pipe
 * and a signalfd for SIGCHLD and the stop signals.  Stopping removes the
 * socket, refuses what is left in its backlog (those clients run their
 * messages themselves) and closes a pipe the waiting children watch: they
 * refuse what still comes and exit.
 *
 * GLib's main loop is not used: its child watch runs a worker thread, and
 * a process that forks must have only the one thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"
#include "wire.h"

extern char **environ;

/* A slot's state, in the table shared with the children (each writes its own) */
enum { SLOT_FREE, SLOT_WAITING, SLOT_BUSY };

typedef struct {
	const SinkServerOptions *o;
	pid_t *pids;		/* o->max_children slots; 0 = free */
	int *slots;		/* the same slots' states, shared (MAP_SHARED) */
	guint nchildren;
	int listen_fd, sig_fd;
	int wake_rd, wake_wr;	/* a child that leaves too few waiting writes a byte here */
	int stop_rd, stop_wr;	/* closed by the server to stop the idle children */
	gint64 last_idle_exit;	/* an idle child that exits is replaced after a pause */
	dev_t dev;		/* the socket file we made, to remove only ours */
	ino_t ino;
} Server;

static void G_GNUC_PRINTF(2, 3)
say(const Server *s, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	line = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (s->o->log)
		s->o->log(line);
}

#define REPLY_WAIT_MS 1000	/* an answer the socket cannot take at once is tried again this long */

static int
reply(int conn, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * Send the client its answer: 0, or the errno why it could not be sent.
 * Never blocked for long (a client that does not read is not waited for
 * beyond REPLY_WAIT_MS), but not given up at the first EAGAIN or EINTR
 * either: an answer lost makes the client defer a message that ran, which
 * PMTA would then deliver again.
 */
static int
reply(int conn, const char *fmt, ...)
{
	char buf[SINK_WIRE_REPLY_MAX];
	gint64 until = g_get_monotonic_time() + REPLY_WAIT_MS * 1000;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return EINVAL;
	for (;;) {
		struct pollfd p = { .fd = conn, .events = POLLOUT };
		gint64 left;

		if (send(conn, buf, MIN((size_t)n, sizeof buf - 1), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ENOBUFS)
			return errno;
		if ((left = until - g_get_monotonic_time()) <= 0)
			return ETIMEDOUT;
		(void)poll(&p, 1, (int)MAX(1, MIN(left / 1000, 50)));
	}
}

/* ---- listening --------------------------------------------------------------------------------- */

int
sink_server_listen(const SinkServerOptions *o, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t mask;
	int fd, rc, saved;

	if (strlen(o->socket_path) >= sizeof sa.sun_path) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG, "%s: socket path too long", o->socket_path);
		return -1;
	}
	strcpy(sa.sun_path, o->socket_path);
	if (lstat(o->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST, "%s: exists and is not a socket", o->socket_path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
		saved = errno;
		if (fd >= 0)
			close(fd);
		if (rc == 0) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
				    "%s: another sink-filterd is listening there", o->socket_path);
			return -1;
		}
		if (saved != ECONNREFUSED || unlink(o->socket_path) < 0) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
				    "%s: a socket is there and cannot be replaced: %s", o->socket_path, g_strerror(saved));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "socket: %s", g_strerror(saved));
		return -1;
	}
	mask = umask(0177);	/* 0600: only the server's own user connects */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	saved = errno;
	umask(mask);
	if (rc < 0 || listen(fd, SOMAXCONN) < 0) {
		saved = rc < 0 ? saved : errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", o->socket_path, g_strerror(saved));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- one request ------------------------------------------------------------------------------- */

typedef struct {
	char buf[SINK_WIRE_MAX + 1];
	int fds[SINK_WIRE_NFDS];
	int nfds;
	mode_t mask;
	int argc, envc;
	char **argv, **envv;	/* pointers into buf, NULL-terminated */
} Request;

static void
request_close_fds(Request *r)
{
	for (int i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
}

/* Next NUL-terminated string at *off in buf[0..len), or NULL. */
static char *
next_string(Request *r, size_t len, size_t *off)
{
	char *s = r->buf + *off, *end;

	if (*off >= len || (end = memchr(s, '\0', len - *off)) == NULL)
		return NULL;
	*off += (size_t)(end - s) + 1;
	return s;
}

static gboolean
parse_count(const char *s, int max, int *out)
{
	char *end;
	long v;

	if (s == NULL)
		return FALSE;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > max)
		return FALSE;
	*out = (int)v;
	return TRUE;
}

/* Read and check one request from conn; on FALSE, *why says what was wrong. */
static gboolean
request_read(Request *r, int conn, const char **why)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * (SINK_WIRE_NFDS + 4))];
	} ctl;
	struct iovec iov = { .iov_base = r->buf, .iov_len = SINK_WIRE_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space, .msg_controllen = sizeof ctl.space };
	size_t off = 0, len;
	const char *s;
	ssize_t n;
	int i;

	r->nfds = 0;
	n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n >= 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int got = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			int *p = (int *)CMSG_DATA(cm);

			for (i = 0; i < got; i++) {
				if (r->nfds < SINK_WIRE_NFDS)
					r->fds[r->nfds++] = p[i];
				else
					close(p[i]);
			}
		}
	}
	if (n <= 0) {
		*why = n == 0 ? "empty request" : "request unreadable";
		return FALSE;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		/* descriptors cut off short of the four sent: the kernel could not give this process more */
		*why = (mh.msg_flags & MSG_CTRUNC) && r->nfds < SINK_WIRE_NFDS
			       ? "the server cannot take the client's descriptors (its limit on open files)"
			       : "request too large";
		return FALSE;
	}
	if (r->nfds != SINK_WIRE_NFDS) {
		*why = "request without its four descriptors";
		return FALSE;
	}
	len = (size_t)n;
	r->buf[len] = '\0';
	s = next_string(r, len, &off);
	if (s == NULL || strcmp(s, SINK_WIRE_MAGIC) != 0) {
		*why = "not a " SINK_WIRE_MAGIC " request";
		return FALSE;
	}
	s = next_string(r, len, &off);
	if (s == NULL || strlen(s) != 4 || strspn(s, "01234567") != 4) {
		*why = "bad umask";
		return FALSE;
	}
	r->mask = (mode_t)strtol(s, NULL, 8) & 0777;
	if (!parse_count(next_string(r, len, &off), 4096, &r->argc) || r->argc < 1 ||
	    !parse_count(next_string(r, len, &off), 16384, &r->envc)) {
		*why = "bad argument or environment count";
		return FALSE;
	}
	r->argv = g_new0(char *, r->argc + 1);
	r->envv = g_new0(char *, r->envc + 1);
	for (i = 0; i < r->argc; i++)
		if ((r->argv[i] = next_string(r, len, &off)) == NULL)
			break;
	for (int j = 0; i == r->argc && j < r->envc; j++)
		if ((r->envv[j] = next_string(r, len, &off)) == NULL || strchr(r->envv[j], '=') == NULL) {
			i = -1;
			break;
		}
	if (i != r->argc || off != len) {
		g_clear_pointer(&r->argv, g_free);
		g_clear_pointer(&r->envv, g_free);
		*why = "arguments and environment do not match their counts";
		return FALSE;
	}
	return TRUE;
}

/* ---- a child: one connection at a time, one message each -------------------------------------- */

#define REQUEST_TIMEOUT_MS 10000	/* a client sends its request right after connecting */

/* What a child restores after each run: the server's own descriptors, directory and environment. */
typedef struct {
	int std[3];
	int cwd;
	char **environ;
	mode_t mask;
} Home;

/*
 * A child's signals: the defaults, but for SIGINT and SIGHUP, which a
 * terminal sends the whole process group (the server alone stops on them,
 * and lets running messages finish), and SIGPIPE (a write to a client
 * that has gone is an error, not a death).
 */
static void
child_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGIO };
	sigset_t none;

	for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
slot_get(const Server *s, guint i)
{
	return __atomic_load_n(&s->slots[i], __ATOMIC_SEQ_CST);
}

static void
slot_set(Server *s, guint i, int state)
{
	__atomic_store_n(&s->slots[i], state, __ATOMIC_SEQ_CST);
}

static guint
slots_in(const Server *s, int state)
{
	guint n = 0;

	for (guint i = 0; i < s->o->max_children; i++)
		n += slot_get(s, i) == state;
	return n;
}

/* The server's count of busy children: only slots it gave a child (the table is the children's to write) */
static guint
children_busy(const Server *s)
{
	guint n = 0;

	for (guint i = 0; i < s->o->max_children; i++)
		n += s->pids[i] != 0 && slot_get(s, i) == SLOT_BUSY;
	return n;
}

/*
 * A child has taken a connection: mark its slot busy, and wake the server
 * if too few are left waiting and a slot is free for it to start one in
 * (with every slot taken, at --max-children, as a spool's pool always is,
 * a wake-up would start nothing: a slot is freed only by the server's own
 * reaping, which tops up after it).  Each child stores its mark before it
 * counts (sequentially consistent), so of children taking connections at
 * once the last to mark sees all the marks: the server is not left asleep
 * with too few waiting.  A full pipe already holds a wake-up.
 */
static void
slot_busy(Server *s, guint slot)
{
	char one = 1;

	slot_set(s, slot, SLOT_BUSY);
	if (slots_in(s, SLOT_WAITING) < s->o->spare && slots_in(s, SLOT_FREE) > 0 && write(s->wake_wr, &one, 1) < 0 &&
	    errno != EAGAIN)
		say(s, "pid %ld: cannot wake the server: %s", (long)getpid(), g_strerror(errno));
}

/*
 * Refuse conn: read its request first, if it comes within timeout_ms (with
 * no room for descriptors, which the kernel then drops unopened), since a
 * SEQPACKET socket closed with a packet unread resets the connection and
 * the client would not get the refusal (it would defer the message instead
 * of running it); then answer.
 */
static void
refuse(int conn, int timeout_ms, const char *why)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	char sink[256];

	if (poll(&p, 1, timeout_ms) > 0)
		(void)recv(conn, sink, sizeof sink, MSG_DONTWAIT);
	reply(conn, "refused %s", why);
}

static int
gid_order(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Whether conn's client has this process's supplementary groups (the run
 * reads the config, writes the log and the copies with them, as the
 * client's own run would with its own): a group added to the PMTA user
 * while only one of the two was restarted must not change what the run
 * may open.  Sets *n_client to the client's count.
 */
static gboolean
same_groups(int conn, int *n_client)
{
	static gid_t ours[NGROUPS_MAX + 1];
	static int n_ours = -1;
	gid_t theirs[NGROUPS_MAX + 1];
	socklen_t len = sizeof theirs;

	if (n_ours < 0) {	/* ours do not change: asked once per child */
		if ((n_ours = getgroups(NGROUPS_MAX + 1, ours)) < 0)
			n_ours = 0;
		qsort(ours, (size_t)n_ours, sizeof *ours, gid_order);
	}
	*n_client = -1;
	if (getsockopt(conn, SOL_SOCKET, SO_PEERGROUPS, theirs, &len) < 0)
		return errno == ENOPROTOOPT;	/* (a kernel before 4.13 cannot tell: the uid and gid have to do) */
	*n_client = (int)(len / sizeof *theirs);
	qsort(theirs, (size_t)*n_client, sizeof *theirs, gid_order);
	return *n_client == n_ours && memcmp(theirs, ours, (size_t)n_ours * sizeof *ours) == 0;
}

/*
 * Check conn's client, then read and check its request (waiting up to
 * timeout_ms); on FALSE it has been refused and nothing of it is kept.
 * With refusal set, any good request is refused with it (the server is
 * stopping).
 */
static gboolean
take_request(Server *s, int conn, Request *r, int timeout_ms, const char *refusal)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	struct ucred cred = { .pid = 0 };
	socklen_t clen = sizeof cred;
	const char *why = NULL;
	g_autofree char *stranger = NULL;
	int n_groups;

	static uid_t uid = (uid_t)-1;
	static gid_t gid = (gid_t)-1;

	if (uid == (uid_t)-1) {	/* ours do not change: asked once per child */
		uid = geteuid();
		gid = getegid();
	}
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.uid != uid || cred.gid != gid) {
		stranger = g_strdup_printf("client uid %ld gid %ld is not the server's uid %ld gid %ld", (long)cred.uid,
					   (long)cred.gid, (long)uid, (long)gid);
		say(s, "refused a client with uid %ld gid %ld: only uid %ld gid %ld may use this server",
		    (long)cred.uid, (long)cred.gid, (long)uid, (long)gid);
		refuse(conn, 100, stranger);
		return FALSE;
	}
	if (!same_groups(conn, &n_groups)) {
		say(s, "refused a client with uid %ld gid %ld and %d supplementary group(s) other than the server's: it "
		    "runs the message itself, with its own", (long)cred.uid, (long)cred.gid, n_groups);
		refuse(conn, 100, "the client's supplementary groups are not the server's");
		return FALSE;
	}
	if (refusal) {
		refuse(conn, timeout_ms, refusal);
		return FALSE;
	}
	if (poll(&p, 1, timeout_ms) <= 0)
		why = "no request in time after connecting";
	else if (!request_read(r, conn, &why) && r->nfds == 0 && strcmp(why, "empty request") == 0)
		return FALSE;	/* connected and hung up (a second server's probe, say): nothing to answer */
	if (why == NULL)
		return TRUE;
	say(s, "refused a request from pid %ld: %s", (long)cred.pid, why);
	reply(conn, "refused %s", why);
	request_close_fds(r);
	g_clear_pointer(&r->argv, g_free);
	g_clear_pointer(&r->envv, g_free);
	return FALSE;
}

/*
 * Run r's message as the client's process would: its descriptors on 0, 1
 * and 2, its directory, umask and environment; answer on conn; then put
 * the child's own back.  The client going away (PMTA giving up on it) ends
 * the run, as it would end a sink-filter running on its own: with O_ASYNC
 * the connection's EOF raises SIGIO, whose default action ends the child.
 */
static void
run_request(Server *s, const Home *home, int conn, Request *r)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	const struct timespec zero = { 0 };
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid) };
	sigset_t io;
	int status, i, flags, lost, untaken = 0;	/* errno of a failure to take the client's descriptors or directory */

	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	for (i = 0; i < 3; i++)
		if (dup2(r->fds[i], i) < 0)
			break;
	if (i < 3 || fchdir(r->fds[3]) < 0) {
		untaken = errno;	/* refused once the child's own 0-2 are back: its log is not the client's */
		goto restore;
	}
	umask(r->mask);
	environ = r->envv;	/* the request's buffer outlives the run */
	/* to this thread: a resolver thread libcurl leaves behind must not take it later */
	fcntl(conn, F_SETOWN_EX, &owner);
	flags = fcntl(conn, F_GETFL);
	fcntl(conn, F_SETFL, flags | O_ASYNC);
	sigprocmask(SIG_UNBLOCK, &io, NULL);
	if (poll(&p, 1, 0) == 0) {	/* else gone already */
		status = s->o->run(r->argc, r->argv);
		fflush(NULL);
		/* the client hangs up as soon as it has the answer: no SIGIO for that */
		sigprocmask(SIG_BLOCK, &io, NULL);
		fcntl(conn, F_SETFL, flags);
		if ((lost = reply(conn, "exit %d", status)) != 0)
			say(s, "could not answer \"exit %d\" to a client: %s (it defers a message that ran)", status,
			    g_strerror(lost));
	}
restore:
	sigprocmask(SIG_BLOCK, &io, NULL);
	for (i = 0; i < 3; i++) {
		dup2(home->std[i], i);
		clearerr(i == 0 ? stdin : i == 1 ? stdout : stderr);
	}
	if (untaken) {
		/* nothing read yet: the client runs the message itself */
		say(s, "cannot take the client's descriptors or directory: %s", g_strerror(untaken));
		reply(conn, "refused the server cannot take the client's descriptors or directory: %s",
		      g_strerror(untaken));
	}
	close(conn);
	while (sigtimedwait(&io, NULL, &zero) > 0)
		;
	request_close_fds(r);
	if (fchdir(home->cwd) < 0)
		say(s, "cannot return to the server's directory: %s", g_strerror(errno));
	umask(home->mask);
	environ = home->environ;
	g_clear_pointer(&r->argv, g_free);
	g_clear_pointer(&r->envv, g_free);
}

/* Refuse what is left in the backlog while stopping: those clients run their messages themselves. */
static void G_GNUC_NORETURN
child_drain(Server *s, Request *r)
{
	int conn;

	while ((conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		take_request(s, conn, r, 1000, SINK_WIRE_STOPPING);
		close(conn);
	}
	_exit(0);
}

/*
 * A fresh child: wait for a connection (or the server's stop), run its
 * message, and again, o->runs_per_child times; then exit, and the server
 * starts another.  No exit handlers (_exit): the libraries' clean-ups,
 * OpenSSL's above all, cost more than a run and free nothing the exit
 * does not.
 */
static void G_GNUC_NORETURN
child_main(Server *s, guint slot)
{
	static Request r;	/* large: not on the stack */
	struct epoll_event ev[2] = {
		/* exclusive: a connection wakes one waiting child, not all of them */
		{ .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = s->listen_fd },
		{ .events = EPOLLIN, .data.fd = s->stop_rd },
	};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	Home home = { .environ = environ };
	sigset_t io;

	close(s->sig_fd);
	close(s->wake_rd);
	close(s->stop_wr);
	child_signals();
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	sigprocmask(SIG_BLOCK, &io, NULL);	/* only a run takes SIGIO */
	for (int i = 0; i < 3; i++)	/* (a server started with one closed gets /dev/null there) */
		if ((home.std[i] = fcntl(i, F_DUPFD_CLOEXEC, 3)) < 0)
			home.std[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
	home.cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/*
	 * As in a fresh process, a large block (a big message's buffer) is
	 * always mmap'd, so growing it is an mremap, not a copy.  glibc would
	 * otherwise raise the threshold after the first such block is freed,
	 * and a child's later big messages would grow on the heap by copying.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	home.mask = umask(0);
	umask(home.mask);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s->listen_fd, &ev[0]) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->stop_rd, &ev[1]) < 0) {
		say(s, "epoll: %s", g_strerror(errno));
		_exit(71);
	}

	for (guint runs = 0; runs < s->o->runs_per_child;) {
		gboolean ready = FALSE;
		int conn, n;

		if ((n = epoll_wait(ep, ev, 2, -1)) < 0 && errno != EINTR)
			_exit(71);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == s->stop_rd)
				child_drain(s, &r);
			ready = TRUE;
		}
		if (!ready)
			continue;
		conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
				continue;	/* another child took it */
			say(s, "accept: %s", g_strerror(errno));
			_exit(71);
		}
		slot_busy(s, slot);	/* taken: the server starts another to wait if need be */
		if (take_request(s, conn, &r, REQUEST_TIMEOUT_MS, NULL)) {
			run_request(s, &home, conn, &r);
			runs++;
		} else {
			close(conn);
		}
		if (runs < s->o->runs_per_child)	/* (after the last, busy until the server reaps it) */
			slot_set(s, slot, SLOT_WAITING);
	}
	_exit(0);
}

/* ---- the server: keeps spare children waiting ------------------------------------------------- */

static void
spawn(Server *s)
{
	guint slot = 0;
	pid_t pid;

	while (slot < s->o->max_children && s->pids[slot] != 0)
		slot++;
	if (slot == s->o->max_children)
		return;
	slot_set(s, slot, SLOT_WAITING);	/* before the fork: a child counting sees it */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child_main(s, slot);
	if (pid < 0) {
		slot_set(s, slot, SLOT_FREE);
		say(s, "fork: %s", g_strerror(errno));
		s->last_idle_exit = g_get_monotonic_time();	/* try again after the pause */
		return;
	}
	s->pids[slot] = pid;
	s->nchildren++;
}

static guint
slot_of(const Server *s, pid_t pid)
{
	guint i = 0;

	while (i < s->o->max_children && s->pids[i] != pid)
		i++;
	return i;
}

/* A wake-up from a child: only the pipe to empty; the table says the rest. */
static void
drain_wakes(Server *s)
{
	char buf[64];

	while (read(s->wake_rd, buf, sizeof buf) > 0)
		;
}

static void
reap(Server *s)
{
	int status;
	pid_t pid;
	guint slot;
	gboolean busy;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((slot = slot_of(s, pid)) == s->o->max_children) {
			if (s->o->other_exit)
				s->o->other_exit(pid, status);
			continue;
		}
		busy = slot_get(s, slot) == SLOT_BUSY;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGIO && busy)
			say(s, "pid %ld: its client went away, which ended the run", (long)pid);
		else if (WIFSIGNALED(status))
			say(s, "pid %ld died of signal %d (%s)%s", (long)pid, WTERMSIG(status),
			    strsignal(WTERMSIG(status)), busy ? "; its client defers the message" : "");
		if (!busy && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
			s->last_idle_exit = g_get_monotonic_time();
		slot_set(s, slot, SLOT_FREE);
		s->pids[slot] = 0;
		s->nchildren--;
	}
}

#define RESPAWN_PAUSE_US 100000	/* after an idle child's failure */

/* Start children until o->spare wait; returns poll's timeout (ms) when paused. */
static int
top_up(Server *s)
{
	gint64 wait = s->last_idle_exit + RESPAWN_PAUSE_US - g_get_monotonic_time();

	if (wait > 0)
		return (int)(wait / 1000) + 1;
	while (s->nchildren - children_busy(s) < s->o->spare && s->nchildren < s->o->max_children) {
		spawn(s);
		if (s->last_idle_exit + RESPAWN_PAUSE_US > g_get_monotonic_time())
			return RESPAWN_PAUSE_US / 1000;
	}
	return -1;
}

static void
stop_listening(Server *s)
{
	struct stat st;
	int conn;

	if (stat(s->o->socket_path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->o->socket_path);
	/*
	 * No client can connect now.  The backlog is refused here: a child on
	 * its last run exits without looking at it, and if it was the last to
	 * hold the socket, the waiting clients' connections would be reset
	 * (they would defer their messages instead of running them).
	 */
	while ((conn = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		refuse(conn, 1000, SINK_WIRE_STOPPING);
		close(conn);
	}
	close(s->listen_fd);
	s->listen_fd = -1;
	close(s->stop_wr);	/* the waiting children refuse what still comes and exit */
	s->stop_wr = -1;
}

/*
 * The signals the server reads on its signalfd, blocked, with their
 * default disposition whatever it was started with: an ignored signal stays
 * ignored across execve(2), and a SIGCHLD ignored (some supervisors and
 * language runtimes leave it so) has the kernel reap the children itself
 * and send no SIGCHLD: the count of children would never go down, and once
 * they had used up their runs no client would be served again.
 */
static const int server_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };

gboolean
sink_server_run(const SinkServerOptions *o, int listen_fd, GError **error)
{
	Server s = { .o = o, .listen_fd = listen_fd, .last_idle_exit = G_MININT64 / 2 };
	int wake_pipe[2] = { -1, -1 }, stop_pipe[2] = { -1, -1 };
	gboolean stopping = FALSE, ok = TRUE;
	struct stat st;
	sigset_t set;

	if (o->spare < 1 || o->spare > o->max_children) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "spare children must be 1 to %u", o->max_children);
		return FALSE;
	}
	if (stat(o->socket_path, &st) == 0) {
		s.dev = st.st_dev;
		s.ino = st.st_ino;
	}
	sigemptyset(&set);
	for (size_t i = 0; i < G_N_ELEMENTS(server_signals); i++)
		sigaddset(&set, server_signals[i]);
	signal(SIGPIPE, SIG_IGN);
	s.slots = mmap(NULL, o->max_children * sizeof *s.slots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);	/* zero: every slot free */
	if (s.slots == MAP_FAILED || pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(stop_pipe, O_CLOEXEC) < 0 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) < 0 || (s.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "server set-up: %s", g_strerror(errno));
		for (int i = 0; i < 2; i++) {
			if (wake_pipe[i] >= 0)
				close(wake_pipe[i]);
			if (stop_pipe[i] >= 0)
				close(stop_pipe[i]);
		}
		if (s.slots != MAP_FAILED)
			munmap(s.slots, o->max_children * sizeof *s.slots);
		return FALSE;
	}
	/* blocked now: the default action of none of them can run */
	for (size_t i = 0; i < G_N_ELEMENTS(server_signals); i++)
		signal(server_signals[i], SIG_DFL);
	s.wake_rd = wake_pipe[0];
	s.wake_wr = wake_pipe[1];
	s.stop_rd = stop_pipe[0];
	s.stop_wr = stop_pipe[1];
	s.pids = g_new0(pid_t, o->max_children);

	while (!stopping || s.nchildren > 0) {
		struct pollfd pfd[2] = {
			{ .fd = s.wake_rd, .events = POLLIN },
			{ .fd = s.sig_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;
		int timeout = stopping ? -1 : top_up(&s);

		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "poll: %s", g_strerror(errno));
			ok = FALSE;
			break;
		}
		drain_wakes(&s);
		while (read(s.sig_fd, &si, sizeof si) == sizeof si) {
			if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !stopping) {
				say(&s, "stopping: %u message(s) running", children_busy(&s));
				stopping = TRUE;
				stop_listening(&s);
			}
		}
		reap(&s);
	}
	if (s.listen_fd >= 0)
		stop_listening(&s);
	close(s.sig_fd);
	close(s.wake_rd);
	close(s.wake_wr);
	close(s.stop_rd);
	g_free(s.pids);
	munmap(s.slots, o->max_children * sizeof *s.slots);
	return ok;
}
