/*
 * filter.h - one run of sink-filter: the whole program for one message,
 * as a function, so that it can run in the process PMTA started (the thin
 * client's fallback, bin/sink-filter.c) or in a child of the resident
 * server (bin/sink-filterd.c) with the client's descriptors.
 */
#ifndef SINK_FILTER_H
#define SINK_FILTER_H

/*
 * sink_filter_main: parse argv as sink-filter(1) does, read the message on
 * standard input, decide, act, count, log; return the exit status from the
 * exit-code table.  This is the one place in lib/ that writes to standard
 * output and standard error: those are the program's interface (--json,
 * -v, the usage and config messages), not the library's.  argv is not
 * freed; GOption may reorder it.
 */
int sink_filter_main(int argc, char **argv);

#endif
