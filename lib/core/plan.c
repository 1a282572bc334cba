/*
 * plan.c - the plan of one message (plan.h): its notes, and the names of
 * its values as the log line and the decision record spell them.
 */
#include <stdarg.h>

#include "plan.h"

void
sink_plan_init(SinkPlan *plan)
{
	*plan = (SinkPlan){ .delay = -1 };
}

void
sink_plan_clear(SinkPlan *plan)
{
	if (plan->notes)
		g_ptr_array_unref(plan->notes);
	sink_plan_init(plan);
}

void
sink_plan_note(SinkPlan *plan, const char *fmt, ...)
{
	va_list ap;

	if (plan->notes && plan->notes->len >= SINK_PLAN_NOTES_MAX) {
		plan->notes_dropped++;
		return;
	}
	if (plan->notes == NULL)
		plan->notes = g_ptr_array_new_with_free_func(g_free);
	va_start(ap, fmt);
	g_ptr_array_add(plan->notes, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

char *
sink_duration_text(gint64 seconds)
{
	static const struct { gint64 unit; char name; } units[] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' } };

	for (gsize i = 0; seconds > 0 && i < G_N_ELEMENTS(units); i++)
		if (seconds % units[i].unit == 0)
			return g_strdup_printf("%" G_GINT64_FORMAT "%c", seconds / units[i].unit, units[i].name);
	return g_strdup_printf("%" G_GINT64_FORMAT "s", seconds);
}

const char *
sink_class_name(SinkClass k)
{
	static const char *const names[] = {
		[SINK_CLASS_NONE] = NULL,
		[SINK_CLASS_ACCEPT] = "accept",
		[SINK_CLASS_OOB] = "oob",
		[SINK_CLASS_FBL] = "fbl",
		[SINK_CLASS_OPENCLICK] = "openclick",
		[SINK_CLASS_UNSUBSCRIBE] = "unsubscribe",
		[SINK_CLASS_AUTOREPLY] = "autoreply",
	};
	return names[k];
}

const char *
sink_route_name(SinkRoute r)
{
	static const char *const names[] = {
		[SINK_ROUTE_NONE] = NULL,
		[SINK_ROUTE_SUBDOMAIN] = "subdomain",
		[SINK_ROUTE_HEADER] = "header",
		[SINK_ROUTE_LOCALPART] = "localpart",
		[SINK_ROUTE_MIX] = "mix",
	};
	return names[r];
}

const char *
sink_unsubscribe_method_name(SinkUnsubscribeMethod m)
{
	static const char *const names[] = {
		[SINK_UNSUBSCRIBE_NONE] = NULL,
		[SINK_UNSUBSCRIBE_AUTO] = "auto",
		[SINK_UNSUBSCRIBE_ONE_CLICK] = "one-click",
		[SINK_UNSUBSCRIBE_MAILTO] = "mailto",
		[SINK_UNSUBSCRIBE_LINK] = "link",
	};
	return names[m];
}
