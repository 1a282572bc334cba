/*
 * exitcode.c - the one place exit statuses are chosen (SPEC section 10).
 *
 * PMTA reads 0 as delivered, 71/74/75 as "retry later" and other 64-78
 * codes as a bounce to the sender.  Anything that went wrong before the
 * first side effect asks for a retry; after one, the message is done.
 */
#include <sysexits.h>

#include "exitcode.h"

static const int exit_table[] = {
	[SINK_OUTCOME_DONE] = EX_OK,
	[SINK_OUTCOME_READ_FAILED] = EX_TEMPFAIL,
	[SINK_OUTCOME_EARLY_FAILURE] = EX_TEMPFAIL,
	[SINK_OUTCOME_CONFIG_BAD] = EX_TEMPFAIL,
	[SINK_OUTCOME_CHECK_BAD] = EX_CONFIG,
	[SINK_OUTCOME_USAGE] = EX_USAGE,
};

int
sink_exit_status(SinkOutcome outcome)
{
	return exit_table[outcome];
}
