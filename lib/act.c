/*
 * act.c - the action module's table: SPF, bounces, complaints, opens and
 * clicks, with libspf2, libcurl and libxml2, built as
 * libbouncysink-act.so and loaded by the core on first use (module.h).
 */
#include "engage.h"
#include "module.h"
#include "report.h"
#include "spf.h"

const SinkActModule sink_act_module = {
	.spf_check = sink_spf_check,
	.bounce_run = sink_bounce_run,
	.complaint_run = sink_complaint_run,
	.engage_run = sink_engage_run,
};
