/*
 * sink-filter - the program PMTA's pipe delivery runs once per recipient,
 * the message on stdin.  What it does with the message is lib/core/filter.c.
 *
 * Design rationale: a pipe filter pays its start-up on every message, and
 * mapping and binding GLib, GMime and their dependency chain costs several
 * times a bare fork + exec.  So this program links nothing but libc.  When
 * a sink-filterd listens on the socket, it hands the server its arguments,
 * environment, working directory and standard descriptors, and exits with
 * the status the server sends back: the server runs the message in a fresh
 * fork of a process that has everything loaded already.  When no server
 * listens, it opens the core library with dlopen(3) and runs the message
 * itself.  The same code runs either way.
 *
 * Built statically against musl (meson option musl_client, SINK_STATIC_CLIENT),
 * it starts in about half the time of a dynamic glibc program: nothing to
 * map or relocate, and none of glibc's CPU probing, which a virtual machine
 * may trap.  A static program cannot dlopen the glibc-built core, so that
 * build runs a message here by exec'ing, with --no-server in front of the
 * arguments, sink-filter-static (SINK_STATIC_RUNNER: this same source with
 * the core and the DKIM module linked in, lib/static/), else
 * sink-filter-local (this same source built against glibc, which opens the
 * core).
 *
 * A refusal, or a server that cannot be reached, leaves stdin untouched
 * and the message runs here.  A server that took the message and then
 * went away without answering (its run died) defers it (75): PMTA
 * retries.
 *
 * --spool DIR (PMTA's file delivery into a folder, the original's way) is
 * many messages from one process: this program execs sink-filterd, which
 * has the pool, with the same arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "places.h"
#include "sink-build.h"
#include "wire.h"

#if defined(SINK_STATIC_RUNNER)
#include "filter.h"
#elif !defined(SINK_STATIC_CLIENT)
#include <dlfcn.h>
#endif

extern char **environ;

#if defined(SINK_STATIC_CLIENT)
/*
 * Run the message here: exec a glibc program that has the core.  First
 * sink-filter-static (the core linked in, nothing to load), else
 * sink-filter-local (the glibc build of this program, which opens the core
 * library).  Each sits beside this program in the build tree, else in the
 * libexec folder it was installed to.  A failed exec leaves stdin
 * untouched: 75, and PMTA retries.
 */
static int
run_here(int argc, char **argv)
{
	char **args = calloc((size_t)(argc > 0 ? argc : 1) + 2, sizeof *args);
	ExecTried tried = { .err = ENOENT };

	if (args == NULL) {
		fprintf(stderr, "sink-filter: out of memory; deferred\n");
		return EX_TEMPFAIL;
	}
	args[1] = "--no-server";
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	exec_beside("sink-filter-static", SINK_LIBEXECDIR "/sink-filter-static", args, &tried);
	exec_beside("sink-filter-local", SINK_LIBEXECDIR "/sink-filter-local", args, &tried);
	fprintf(stderr, "sink-filter: cannot run the message here: %s: %s; deferred\n", tried.path, strerror(tried.err));
	free(args);
	return EX_TEMPFAIL;
}
#elif defined(SINK_STATIC_RUNNER)
/* sink-filter-static: the core is linked in (lib/static/). */
static int
run_here(int argc, char **argv)
{
	return sink_filter_main(argc, argv);
}
#else
/*
 * Open the core library.  Not by the rpath: a sanitizer runtime intercepts
 * dlopen(3), and the loader then searches as if the runtime had called it.
 * So by path: beside this program's folder, as in the build tree
 * (../lib/core/) or an install with libdir "lib" (../lib/), else the libdir
 * it was built for, else by soname on the system's path.
 */
static void *
open_core(void)
{
	char path[4096 + 64];
	void *core;

	if (beside_exe(path, sizeof path, "../lib/core/" SINK_CORE_SONAME) && access(path, F_OK) == 0 &&
	    (core = dlopen(path, RTLD_NOW | RTLD_GLOBAL)) != NULL)
		return core;
	if (beside_exe(path, sizeof path, "../lib/" SINK_CORE_SONAME) && access(path, F_OK) == 0 &&
	    (core = dlopen(path, RTLD_NOW | RTLD_GLOBAL)) != NULL)
		return core;
	snprintf(path, sizeof path, "%s/%s", SINK_LIBDIR, SINK_CORE_SONAME);
	if (access(path, F_OK) == 0 && (core = dlopen(path, RTLD_NOW | RTLD_GLOBAL)) != NULL)
		return core;
	return dlopen(SINK_CORE_SONAME, RTLD_NOW | RTLD_GLOBAL);
}

/* Run the message in this process, with the core library. */
static int
run_here(int argc, char **argv)
{
	int (*run)(int, char **);
	void *core = open_core();

	if (core == NULL) {
		fprintf(stderr, "sink-filter: cannot load the sink's library: %s\n", dlerror());
		return EX_TEMPFAIL;
	}
	*(void **)&run = dlsym(core, "sink_filter_main");
	if (run == NULL) {
		fprintf(stderr, "sink-filter: %s has no sink_filter_main\n", SINK_CORE_SONAME);
		return EX_TEMPFAIL;
	}
	return run(argc, argv);
}
#endif

/* sink-filter's options that take a value (lib/core/filter.c), as separate arguments */
static int
takes_value(const char *arg)
{
	static const char *const with_value[] = { "-c", "--config", "--from", "--to", "--client-ip", "--seed",
						  "--draw-seed", "--time-left", "--spool", "-j", "--jobs" };

	for (size_t i = 0; i < sizeof with_value / sizeof *with_value; i++)
		if (strcmp(arg, with_value[i]) == 0)
			return 1;
	return 0;
}

/* Whether the command line asks for --spool (read as server_path reads it: no option's value counts). */
static int
wants_spool(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--spool") == 0 || strncmp(argv[i], "--spool=", 8) == 0)
			return 1;
		if (takes_value(argv[i]))
			i++;
	}
	return 0;
}

/*
 * --spool: exec sink-filterd with these arguments.  It sits beside this
 * program, in the build tree as in an install, else in the bindir it was
 * built for.  Returns only when it cannot be run (75, saying why).
 */
static int
run_spool(int argc, char **argv)
{
	char **args = calloc((size_t)(argc > 0 ? argc : 1) + 1, sizeof *args);
	ExecTried tried = { .err = ENOENT };

	if (args == NULL) {
		fprintf(stderr, "sink-filter: out of memory\n");
		return EX_TEMPFAIL;
	}
	for (int i = 1; i < argc; i++)
		args[i] = argv[i];
	exec_beside("sink-filterd", SINK_BINDIR "/sink-filterd", args, &tried);
	fprintf(stderr, "sink-filter: --spool runs in sink-filterd, which cannot be run: %s: %s\n", tried.path,
		strerror(tried.err));
	free(args);
	return EX_TEMPFAIL;
}

/*
 * The server's socket: --server PATH (or --server=PATH), else $SINK_SERVER,
 * else the built-in path.  NULL with --no-server or an empty path.  The
 * scan follows the option grammar: the value of --from (which the remote
 * sender chooses) is never read as an option.  *named is set when the
 * operator named the socket, so that failing to reach it is worth a
 * warning; the built-in path failing with ENOENT just means no server.
 */
static const char *
server_path(int argc, char **argv, int *named)
{
	const char *path = NULL;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--no-server") == 0)
			return NULL;
		if (strncmp(argv[i], "--server=", 9) == 0)
			path = argv[i] + 9;
		else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (takes_value(argv[i]))
			i++;
	}
	if (path == NULL)
		path = getenv("SINK_SERVER");
	*named = path != NULL;
	if (path == NULL)
		path = SINK_SERVER_SOCKET;
	return *path ? path : NULL;
}

/* The request for this process: its umask, arguments and environment (wire.h) */
static size_t
build_request(char *buf, int argc, char **argv)
{
	mode_t mask = umask(0);

	umask(mask);
	return sink_wire_request(buf, mask, argc, argv, environ);
}

enum { NOT_TAKEN, TAKEN };

/*
 * Hand the message to the server at path.  NOT_TAKEN: the server has not
 * touched stdin (say why on stderr when worth it).  TAKEN: *status is the
 * exit status to return.
 */
static int
hand_over(const char *path, int named, int argc, char **argv, int *status)
{
	static char buf[SINK_WIRE_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * SINK_WIRE_NFDS)];
	} ctl;
	char reply[SINK_WIRE_REPLY_MAX + 1];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fd = -1, fds[SINK_WIRE_NFDS] = { 0, 1, 2, -1 };
	size_t len;
	ssize_t n;
	const char *why = NULL;
	struct ucred cred = { .uid = (uid_t)-1 };
	socklen_t clen = sizeof cred;

	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "sink-filter: server socket path too long: %s; running the message here\n", path);
		return NOT_TAKEN;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (named || errno != ENOENT)
			fprintf(stderr, "sink-filter: server %s: %s; running the message here\n", path, strerror(errno));
		goto not_taken;
	}
	/* the message, the descriptors and the environment go only to a server of this user's (or root's) */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || (cred.uid != geteuid() && cred.uid != 0)) {
		fprintf(stderr, "sink-filter: server %s runs as uid %ld, not as this user; running the message here\n",
			path, (long)cred.uid);
		goto not_taken;
	}
	if ((len = build_request(buf, argc, argv)) == 0) {
		why = "arguments and environment too large for one request";
		goto refused;
	}
	if ((fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		why = "working directory cannot be opened";
		goto refused;
	}
	iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	memset(&ctl, 0, sizeof ctl);
	mh.msg_control = ctl.space;
	mh.msg_controllen = sizeof ctl.space;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	while ((n = sendmsg(fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	close(fds[3]);
	if (n < 0) {
		fprintf(stderr, "sink-filter: server %s: sending the request: %s; running the message here\n",
			path, strerror(errno));
		goto not_taken;
	}
	while ((n = recv(fd, reply, SINK_WIRE_REPLY_MAX, 0)) < 0 && errno == EINTR)
		;
	close(fd);
	if (n <= 0) {
		fprintf(stderr, "sink-filter: server %s went away with the message (%s); deferred\n",
			path, n < 0 ? strerror(errno) : "no answer");
		*status = EX_TEMPFAIL;
		return TAKEN;
	}
	reply[n] = '\0';
	if (sscanf(reply, "exit %d", status) == 1 && *status >= 0 && *status <= 255)
		return TAKEN;
	if (strncmp(reply, "refused ", 8) == 0) {
		fprintf(stderr, "sink-filter: server %s refused the message: %s; running it here\n", path, reply + 8);
		return NOT_TAKEN;
	}
	fprintf(stderr, "sink-filter: server %s answered \"%.80s\", which is not a status; deferred\n", path, reply);
	*status = EX_TEMPFAIL;
	return TAKEN;

refused:
	fprintf(stderr, "sink-filter: %s; running the message here\n", why);
not_taken:
	if (fd >= 0)
		close(fd);
	return NOT_TAKEN;
}

int
main(int argc, char **argv)
{
	int named = 0, status;
	const char *path = server_path(argc, argv, &named);

	if (wants_spool(argc, argv))
		return run_spool(argc, argv);

	/*
	 * A closed standard descriptor is this process's own problem to report
	 * (and the socket would take its number and be sent as it): run here.
	 */
	for (int fd = 0; fd < 3 && path; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			path = NULL;
	if (path && hand_over(path, named, argc, argv, &status) == TAKEN)
		return status;
	return run_here(argc, argv);
}
