/* floor.c - the benchmark's floor: a trivial C program that reads stdin to
 * the end and exits, so fork + exec + a read is all it costs. */
#include <unistd.h>

int
main(void)
{
	char buf[65536];

	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
