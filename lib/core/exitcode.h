/*
 * exitcode.h - the one table of exit statuses (SPEC section 10, sysexits.h).
 */
#ifndef SINK_EXITCODE_H
#define SINK_EXITCODE_H

typedef enum {
	SINK_OUTCOME_DONE,		/* message read to the end, whatever the actions did */
	SINK_OUTCOME_READ_FAILED,	/* stdin unreadable: retry */
	SINK_OUTCOME_EARLY_FAILURE,	/* any failure before the first side effect: retry */
	SINK_OUTCOME_CONFIG_BAD,	/* config missing, unreadable or invalid: retry */
	SINK_OUTCOME_CHECK_BAD,		/* -n found a bad config */
	SINK_OUTCOME_USAGE,		/* bad command line */
} SinkOutcome;

/* sink_exit_status: the process exit status for an outcome. */
int sink_exit_status(SinkOutcome outcome);

#endif
