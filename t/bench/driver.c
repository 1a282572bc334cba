/*
 * driver.c - runs one command N times with a file on stdin, from P
 * concurrent workers, and reports per-run wall time, CPU time (user +
 * system of the children), the largest peak RSS, and runs per second.
 *
 *   bench-driver -n N [-p P] [-i FILE] [-s] -- CMD [ARGS...]
 *   bench-driver -n N [-p P] -w LOOPS
 *
 * Each run forks and execs CMD, as PowerMTA's pipe delivery starts a
 * program; with -s it is started with posix_spawn(3) instead (a vfork: no
 * copy of the driver's page tables).  -w is the control that starts no
 * process: each run is LOOPS rounds of arithmetic in the worker itself, so
 * its 1 to 2 process scaling is what the machine's cores give to work that
 * creates no address space.
 *
 * Output, one line: "runs=N procs=P wall_ms=W cpu_ms=C maxrss_kb=R rate=S fails=F"
 * where wall_ms is the mean wall time of one run (measured by its worker),
 * and rate is runs per second over the whole batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start cmd with `input` on stdin, stdout (and stderr) on /dev/null, by posix_spawn(3). */
static pid_t
spawn(char **cmd, const char *input)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input ? input : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!getenv("BENCH_STDERR"))
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "bench-driver: posix_spawn %s: %s\n", cmd[0], strerror(rc));
		exit(2);
	}
	return pid;
}

/* The -w control: LOOPS rounds of a xorshift, kept from being optimised away. */
static volatile unsigned long sink_hole;

static void
burn(long loops)
{
	unsigned long x = 88172645463325252UL;

	for (long i = 0; i < loops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink_hole = x;
}

/* Run cmd once with `input` on stdin; return its wait status, add its wall time. */
static int
run_once(char **cmd, const char *input, int use_spawn, double *wall, long *maxrss, double *cpu)
{
	double t0 = now_s();
	struct rusage ru;
	int status = 0;
	pid_t pid = use_spawn ? spawn(cmd, input) : fork();

	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		int fd = open(input ? input : "/dev/null", O_RDONLY);
		int null = open("/dev/null", O_WRONLY);
		if (fd < 0 || null < 0)
			_exit(126);
		dup2(fd, 0);
		dup2(null, 1);
		if (!getenv("BENCH_STDERR"))
			dup2(null, 2);
		execv(cmd[0], cmd);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		exit(2);
	}
	*wall += now_s() - t0;
	if (ru.ru_maxrss > *maxrss)
		*maxrss = ru.ru_maxrss;
	*cpu += (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return status;
}

int
main(int argc, char **argv)
{
	static const char usage[] = "usage: bench-driver -n N [-p P] [-i FILE] [-s] -- CMD [ARGS...]\n"
				    "       bench-driver -n N [-p P] -w LOOPS\n";
	int n = 100, procs = 1, use_spawn = 0, opt;
	long loops = 0;
	const char *input = NULL;
	int pipes[64][2];

	while ((opt = getopt(argc, argv, "n:p:i:sw:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'p': procs = atoi(optarg); break;
		case 'i': input = optarg; break;
		case 's': use_spawn = 1; break;
		case 'w': loops = atol(optarg); break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if ((optind >= argc) == (loops <= 0) || n < 1 || procs < 1 || procs > 64) {
		fputs(usage, stderr);
		return 2;
	}
	char **cmd = argv + optind;
	double t0 = now_s();

	/* each worker runs its share and reports "wall cpu maxrss fails" on a pipe */
	for (int w = 0; w < procs; w++) {
		if (pipe(pipes[w]) != 0)
			return 2;
		if (fork() == 0) {
			double wall = 0, cpu = 0;
			long maxrss = 0;
			int fails = 0, mine = n / procs + (w < n % procs);
			for (int i = 0; i < mine; i++) {
				if (loops > 0) {
					double t1 = now_s();

					burn(loops);
					wall += now_s() - t1;
					continue;
				}
				int st = run_once(cmd, input, use_spawn, &wall, &maxrss, &cpu);
				if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
					fails++;
			}
			dprintf(pipes[w][1], "%.9f %.9f %ld %d\n", wall, cpu, maxrss, fails);
			_exit(0);
		}
		close(pipes[w][1]);
	}
	double wall = 0, cpu = 0;
	long maxrss = 0;
	int fails = 0;
	for (int w = 0; w < procs; w++) {
		FILE *f = fdopen(pipes[w][0], "r");
		double ww, cc;
		long rr;
		int ff;
		if (f == NULL || fscanf(f, "%lf %lf %ld %d", &ww, &cc, &rr, &ff) != 4) {
			fprintf(stderr, "bench-driver: a worker failed\n");
			return 2;
		}
		fclose(f);
		wall += ww;
		cpu += cc;
		fails += ff;
		if (rr > maxrss)
			maxrss = rr;
	}
	while (wait(NULL) > 0)
		;
	double total = now_s() - t0;
	printf("runs=%d procs=%d wall_ms=%.3f cpu_ms=%.3f maxrss_kb=%ld rate=%.1f fails=%d\n", n, procs,
	       wall / n * 1e3, cpu / n * 1e3, maxrss, n / total, fails);
	return fails ? 1 : 0;
}
