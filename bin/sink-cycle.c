/* sink-cycle - being written. */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "sink-cycle: not built yet\n");
	return 70;
}
