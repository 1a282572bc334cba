/*
 * pool.c - a private pool of sink-filterd's children and its one client
 * (see pool.h): spool mode's way to run a message without a process of
 * its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "pool.h"

extern char **environ;

gboolean
sink_pool_init(SinkPool *p, const SinkServerOptions *so, int argc, char **argv, GError **error)
{
	mode_t mask = umask(0);
	int saved;

	umask(mask);
	*p = (SinkPool){ .so = *so, .cwd_fd = -1 };
	if ((p->request_len = sink_wire_request(p->request, mask, argc, argv, environ)) == 0) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
			    "the arguments and environment are too large for a request to the message pool");
		return FALSE;
	}
	if ((p->cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		saved = errno;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "the working directory: %s",
			    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

static void (*pool_log)(const char *line);

/* The pool's lines, but its "stopping": whoever stopped it says what it does. */
static void
pool_said(const char *line)
{
	if (!g_str_has_prefix(line, "stopping:"))
		pool_log(line);
}

gboolean
sink_pool_start(SinkPool *p, void (*child_setup)(gpointer), gpointer data, GError **error)
{
	pid_t parent = getpid();
	int fd, saved;

	if ((p->tmpdir = g_dir_make_tmp("sink-spool.XXXXXX", error)) == NULL)
		return FALSE;
	p->sock = g_build_filename(p->tmpdir, "pool.sock", NULL);
	p->so.socket_path = p->sock;
	pool_log = p->so.log;
	p->so.log = pool_said;
	if ((fd = sink_server_listen(&p->so, error)) < 0)
		return FALSE;
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		g_autoptr(GError) err = NULL;
		gboolean ok;

		/* the parent gone, even killed outright, the pool stops (and its runs end with their connections) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		close(p->cwd_fd);
		if (child_setup)
			child_setup(data);
		if (!(ok = sink_server_run(&p->so, fd, &err)))
			pool_log(err->message);
		rmdir(p->tmpdir);	/* (the server removed its socket) */
		_exit(ok ? 0 : EX_OSERR);
	}
	saved = errno;
	close(fd);
	if (p->pid < 0) {
		p->pid = -1;
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "fork: %s", g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

int
sink_pool_hand_over(SinkPool *p, int in, int out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * SINK_WIRE_NFDS)];
	} ctl;
	int fds[SINK_WIRE_NFDS] = { in, out, STDERR_FILENO, p->cwd_fd };
	struct iovec iov = { .iov_base = p->request, .iov_len = p->request_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
			     .msg_controllen = sizeof ctl.space };
	struct cmsghdr *cm;
	ssize_t n = -1;
	int conn, saved;

	g_strlcpy(sa.sun_path, p->sock, sizeof sa.sun_path);	/* (sink_server_listen checked its length) */
	if ((conn = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&ctl, 0, sizeof ctl);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	if (connect(conn, (struct sockaddr *)&sa, sizeof sa) == 0)
		while ((n = sendmsg(conn, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			;
	if (n < 0) {
		saved = errno;
		close(conn);
		errno = saved;
		return -1;
	}
	return conn;
}

SinkPoolAnswer
sink_pool_answer(int conn, int *status, char **why)
{
	char reply[SINK_WIRE_REPLY_MAX + 1];
	ssize_t n;

	*why = NULL;
	while ((n = recv(conn, reply, SINK_WIRE_REPLY_MAX, 0)) < 0 && errno == EINTR)
		;
	close(conn);
	if (n <= 0)
		return SINK_POOL_DIED;
	reply[n] = '\0';
	if (sscanf(reply, "exit %d", status) == 1 && *status >= 0 && *status <= 255)
		return SINK_POOL_EXIT;
	if (!g_str_has_prefix(reply, "refused "))
		return SINK_POOL_DIED;	/* not an answer: what became of the run is unknown */
	*why = g_strdup(reply + 8);
	return SINK_POOL_REFUSED;
}

gboolean
sink_pool_ended(SinkPool *p, int *wstatus)
{
	if (p->pid <= 0 || waitpid(p->pid, wstatus, WNOHANG) != p->pid)
		return FALSE;
	p->pid = -1;
	return TRUE;
}

void
sink_pool_stop(SinkPool *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		p->pid = -1;
	}
	if (p->tmpdir) {
		unlink(p->sock);
		rmdir(p->tmpdir);
	}
	if (p->cwd_fd >= 0)
		close(p->cwd_fd);
	p->cwd_fd = -1;
	g_clear_pointer(&p->sock, g_free);
	g_clear_pointer(&p->tmpdir, g_free);
}
