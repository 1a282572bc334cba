/* smtp.c - report delivery with libcurl (being written). */
#include "report.h"

gboolean
sink_smtp_send(SinkCtx *ctx, SinkAction *a, const char *mx, const char *mail_from,
	       const char *rcpt_to, GMimeMessage *msg)
{
	sink_action_fail(a, "not built yet");
	return FALSE;
}
