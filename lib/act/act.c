/*
 * act.c - the action module's table: SPF, bounces, complaints, opens and
 * clicks, unsubscribes, out-of-office replies and the personas' machine
 * traffic, with libspf2,
 * libcurl, libxml2 and libpsl, built as
 * libbouncysink-act.so and loaded by the core on first use (module.h).
 */
#include <curl/curl.h>
#include <libxml/parser.h>

#include "autoreply.h"
#include "cfbl.h"
#include "engage.h"
#include "module.h"
#include "report.h"
#include "sink-build.h"
#include "spf.h"
#include "unsubscribe.h"

/* libcurl's, libxml2's and the Public Suffix List's one-time set-up, before a server's first fork. */
static void
act_warm(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
	sink_cfbl_warm();
}

const SinkModuleStamp sink_module_stamp = SINK_MODULE_STAMP(SinkActModule);

const SinkActModule sink_act_module = {
	.spf_check = sink_spf_check,
	.bounce_run = sink_bounce_run,
	.complaint_run = sink_complaint_run,
	.engage_run = sink_engage_run,
	.unsubscribe_run = sink_unsubscribe_run,
	.reader_run = sink_engage_reader_run,
	.autoreply_run = sink_autoreply_run,
	.warm = act_warm,
};
