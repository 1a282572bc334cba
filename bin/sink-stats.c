/* sink-stats - being written. */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "sink-stats: not built yet\n");
	return 70;
}
