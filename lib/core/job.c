/*
 * job.c - a delayed step's job (job.h): made from a message's context,
 * written as a GVariant dictionary, read back, and turned into a context
 * again by the worker that runs it.
 */
#include <string.h>

#include <gio/gio.h>

#include "job.h"
#include "message.h"
#include "oneclick.h"

/*
 * Every text is a byte string (ay, NUL-terminated), not a GVariant string
 * (s), which must be UTF-8: an envelope address PMTA passes, a Message-ID
 * or a label may hold any bytes, and the job carries them as they are.
 */
#define SIG_TYPE "(ayayayaay)"
#define SIG_FORMAT "(^ay^ay^ay^aay)"	/* the same, as C strings and a string vector */

SinkJob *
sink_job_new(SinkStep step)
{
	SinkJob *job = g_new0(SinkJob, 1);

	/* from the kernel's generator: ids never follow --seed, and the children a spool run or a server
	 * forks, which share any generator's state, never draw the same (GLib's global one would) */
	job->id = g_strdup_printf("%08x%08x%08x%08x", sink_random_u32(), sink_random_u32(), sink_random_u32(),
				  sink_random_u32());
	job->step = step;
	job->seed = -1;
	job->sigs = g_ptr_array_new_with_free_func(sink_dkim_sig_free);
	return job;
}

void
sink_job_free(SinkJob *job)
{
	if (job == NULL)
		return;
	g_free(job->id);
	g_free(job->env_from);
	g_free(job->env_to);
	g_free(job->client_ip);
	g_free(job->rcpt);
	g_free(job->return_path);
	g_free(job->message_id);
	g_free(job->label);
	g_free(job->user_agent);
	g_strfreev(job->pixels);
	g_strfreev(job->links);
	if (job->original)
		g_bytes_unref(job->original);
	g_free(job->feedback_type);
	if (job->sigs)
		g_ptr_array_unref(job->sigs);
	g_free(job);
}

SinkJob *
sink_job_from_ctx(SinkCtx *ctx, SinkStep step)
{
	SinkJob *job = sink_job_new(step);

	job->created = g_date_time_to_unix(ctx->now);
	job->seed = ctx->seed;
	job->env_from = g_strdup(ctx->env_from);
	job->env_to = g_strdup(ctx->env_to);
	job->client_ip = g_strdup(ctx->client_ip);
	job->rcpt = g_strdup(ctx->rcpt);
	job->return_path = g_strdup(ctx->return_path);
	job->message_id = g_strdup(ctx->message_id);
	job->label = g_strdup(ctx->label);
	job->klass = ctx->klass;
	job->route = ctx->route;
	job->persona = ctx->persona;
	job->user_agent = g_strdup(ctx->user_agent);
	job->feedback_type = g_strdup(ctx->plan.feedback_type);
	job->unsubscribe = ctx->plan.unsubscribe;
	for (guint i = 0; i < ctx->dkim_sigs->len; i++) {
		const SinkDkimSig *s = ctx->dkim_sigs->pdata[i];
		SinkDkimSig *copy = g_new0(SinkDkimSig, 1);

		copy->domain = g_strdup(s->domain);
		copy->selector = g_strdup(s->selector);
		copy->result = g_strdup(s->result);
		copy->headers = g_strdupv(s->headers);
		g_ptr_array_add(job->sigs, copy);
	}
	return job;
}

/* Length of a message's header block, through the blank line that ends it (all of it when none does). */
static gsize
header_block(const char *data, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < len && data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

void
sink_job_set_original(SinkJob *job, SinkCtx *ctx)
{
	gsize len = 0;
	const char *data = ctx->raw ? g_bytes_get_data(ctx->raw, &len) : NULL;

	if (job->original)
		g_bytes_unref(job->original);
	job->original_size = ctx->raw_total;
	/* an unsubscribe's link may be in the body (the HTML's): it keeps the whole, bounded by Delay_Job_Max_Size */
	job->headers_only = ctx->raw_headers_only ||
			    (job->step != SINK_STEP_UNSUBSCRIBE && (gint64)len > ctx->cfg->report_original_max);
	if (data == NULL)
		job->original = g_bytes_new(NULL, 0);
	else
		job->original = g_bytes_new(data, job->headers_only ? header_block(data, len) : len);
}

/* A string field when set. */
static void
put_str(GVariantDict *d, const char *key, const char *value)
{
	if (value)
		g_variant_dict_insert_value(d, key, g_variant_new_bytestring(value));
}

static void
put_strv(GVariantDict *d, const char *key, char **value)
{
	if (value)
		g_variant_dict_insert_value(d, key, g_variant_new_bytestring_array((const char *const *)value, -1));
}

GBytes *
sink_job_encode(const SinkJob *job)
{
	g_auto(GVariantDict) d = G_VARIANT_DICT_INIT(NULL);
	GVariantBuilder sigs;
	g_autoptr(GVariant) v = NULL;

	g_variant_dict_insert_value(&d, "v", g_variant_new_uint32(SINK_JOB_VERSION));
	put_str(&d, "id", job->id);
	put_str(&d, "step", sink_step_name(job->step));
	g_variant_dict_insert_value(&d, "created", g_variant_new_int64(job->created));
	g_variant_dict_insert_value(&d, "seed", g_variant_new_int64(job->seed));
	put_str(&d, "env_from", job->env_from);
	put_str(&d, "env_to", job->env_to);
	put_str(&d, "client_ip", job->client_ip);
	put_str(&d, "rcpt", job->rcpt);
	put_str(&d, "return_path", job->return_path);
	put_str(&d, "message_id", job->message_id);
	put_str(&d, "label", job->label);
	put_str(&d, "class", sink_class_name(job->klass));
	put_str(&d, "route", sink_route_name(job->route));
	g_variant_dict_insert_value(&d, "persona", g_variant_new_uint32(job->persona));
	put_str(&d, "user_agent", job->user_agent);
	g_variant_dict_insert_value(&d, "opens", g_variant_new_int32(job->opens));
	g_variant_dict_insert_value(&d, "clicks", g_variant_new_int32(job->clicks));
	g_variant_dict_insert_value(&d, "click_delay", g_variant_new_int64(job->click_delay));
	put_strv(&d, "pixels", job->pixels);
	put_strv(&d, "links", job->links);
	if (job->original) {
		gsize len;
		const void *data = g_bytes_get_data(job->original, &len);
		g_variant_dict_insert_value(&d, "original",
					    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, data ? data : "", len, 1));
		g_variant_dict_insert_value(&d, "headers_only", g_variant_new_boolean(job->headers_only));
		g_variant_dict_insert_value(&d, "original_size", g_variant_new_uint64(job->original_size));
	}
	put_str(&d, "feedback_type", job->feedback_type);
	put_str(&d, "unsubscribe", sink_unsubscribe_method_name(job->unsubscribe));
	g_variant_builder_init(&sigs, G_VARIANT_TYPE("a" SIG_TYPE));
	for (guint i = 0; job->sigs && i < job->sigs->len; i++) {
		const SinkDkimSig *s = job->sigs->pdata[i];
		const char *const none[] = { NULL };
		g_variant_builder_add(&sigs, SIG_FORMAT, s->domain ? s->domain : "", s->selector ? s->selector : "",
				      s->result ? s->result : "", s->headers ? (const char *const *)s->headers : none);
	}
	g_variant_dict_insert_value(&d, "sigs", g_variant_builder_end(&sigs));
	v = g_variant_ref_sink(g_variant_dict_end(&d));
	return g_variant_get_data_as_bytes(v);
}

/* The names the record and the log use, back to their values; the _NONE value for an unknown name. */
static int
named(const char *name, const char *(*namer)(int), int last)
{
	for (int i = 1; i <= last; i++)
		if (name && g_strcmp0(namer(i), name) == 0)
			return i;
	return 0;
}

static const char *class_namer(int i) { return sink_class_name((SinkClass)i); }
static const char *route_namer(int i) { return sink_route_name((SinkRoute)i); }
static const char *unsub_namer(int i) { return sink_unsubscribe_method_name((SinkUnsubscribeMethod)i); }

/* A string field, copied; NULL when absent. */
static char *
get_str(GVariantDict *d, const char *key)
{
	char *s = NULL;

	g_variant_dict_lookup(d, key, "^ay", &s);
	return s;
}

SinkJob *
sink_job_decode(GBytes *bytes, GError **error)
{
	g_autoptr(GVariant) v = NULL;
	g_autoptr(GVariantDict) d = NULL;
	g_autoptr(SinkJob) job = NULL;
	g_autoptr(GVariant) original = NULL;
	g_autoptr(GVariantIter) sigs = NULL;
	g_autofree char *step = NULL, *klass = NULL, *route = NULL, *unsub = NULL;
	guint32 version = 0;
	char *sd, *ss, *sr;
	char **sh;

	v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE_VARDICT, bytes, FALSE));
	if (!g_variant_is_normal_form(v)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a job (%" G_GSIZE_FORMAT
			    " bytes that are no serialised a{sv})", g_bytes_get_size(bytes));
		return NULL;
	}
	d = g_variant_dict_new(v);
	if (!g_variant_dict_lookup(d, "v", "u", &version) || version != SINK_JOB_VERSION) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "job format %u, not %d", version,
			    SINK_JOB_VERSION);
		return NULL;
	}
	step = get_str(d, "step");
	job = sink_job_new(sink_step_named(step));
	if (job->step == SINK_STEPS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "job without a known step (%s)",
			    step ? step : "none");
		return NULL;
	}
	g_free(job->id);
	if ((job->id = get_str(d, "id")) == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "job without an id");
		return NULL;
	}
	g_variant_dict_lookup(d, "created", "x", &job->created);
	g_variant_dict_lookup(d, "seed", "x", &job->seed);
	job->env_from = get_str(d, "env_from");
	job->env_to = get_str(d, "env_to");
	job->client_ip = get_str(d, "client_ip");
	job->rcpt = get_str(d, "rcpt");
	job->return_path = get_str(d, "return_path");
	job->message_id = get_str(d, "message_id");
	job->label = get_str(d, "label");
	klass = get_str(d, "class");
	route = get_str(d, "route");
	job->klass = (SinkClass)named(klass, class_namer, SINK_CLASS_AUTOREPLY);
	job->route = (SinkRoute)named(route, route_namer, SINK_ROUTE_MIX);
	g_variant_dict_lookup(d, "persona", "u", &job->persona);
	job->user_agent = get_str(d, "user_agent");
	g_variant_dict_lookup(d, "opens", "i", &job->opens);
	g_variant_dict_lookup(d, "clicks", "i", &job->clicks);
	g_variant_dict_lookup(d, "click_delay", "x", &job->click_delay);
	g_variant_dict_lookup(d, "pixels", "^aay", &job->pixels);
	g_variant_dict_lookup(d, "links", "^aay", &job->links);
	if ((original = g_variant_dict_lookup_value(d, "original", G_VARIANT_TYPE_BYTESTRING)) != NULL) {
		job->original = g_variant_get_data_as_bytes(original);
		g_variant_dict_lookup(d, "headers_only", "b", &job->headers_only);
		g_variant_dict_lookup(d, "original_size", "t", &job->original_size);
	}
	job->feedback_type = get_str(d, "feedback_type");
	unsub = get_str(d, "unsubscribe");
	job->unsubscribe = (SinkUnsubscribeMethod)named(unsub, unsub_namer, SINK_UNSUBSCRIBE_LINK);
	if (g_variant_dict_lookup(d, "sigs", "a" SIG_TYPE, &sigs)) {
		while (g_variant_iter_next(sigs, SIG_FORMAT, &sd, &ss, &sr, &sh)) {
			SinkDkimSig *s = g_new0(SinkDkimSig, 1);
			s->domain = sd;
			s->selector = ss;
			s->result = sr;
			s->headers = sh;
			g_ptr_array_add(job->sigs, s);
		}
	}
	if (job->rcpt == NULL || job->klass == SINK_CLASS_NONE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "job %s without a recipient or a class",
			    job->id);
		return NULL;
	}
	if (job->opens < 0 || job->opens > SINK_REPEATS_CEILING || job->clicks < 0 ||
	    job->clicks > SINK_REPEATS_CEILING || job->click_delay < 0) {	/* no plan makes these */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "job %s: %d opens, %d clicks %" G_GINT64_FORMAT " s apart: out of range", job->id,
			    job->opens, job->clicks, job->click_delay);
		return NULL;
	}
	return g_steal_pointer(&job);
}

/* Replace *field with a copy of value when value is set. */
static void
take(char **field, const char *value)
{
	if (value) {
		g_free(*field);
		*field = g_strdup(value);
	}
}

void
sink_job_restore(SinkCtx *ctx, const SinkJob *job)
{
	if (ctx->arrived == NULL && job->created > 0)
		ctx->arrived = g_date_time_new_from_unix_utc(job->created);
	ctx->env_from = g_strdup(job->env_from);
	ctx->env_to = g_strdup(job->env_to);
	ctx->client_ip = g_strdup(job->client_ip);
	if (job->original) {
		ctx->raw = g_bytes_ref(job->original);
		ctx->raw_total = job->original_size;
		ctx->raw_headers_only = job->headers_only;
		sink_message_parse(ctx);
	}
	take(&ctx->rcpt, job->rcpt);
	take(&ctx->return_path, job->return_path);
	take(&ctx->message_id, job->message_id);
	take(&ctx->label, job->label);
	ctx->klass = ctx->plan.klass = job->klass;
	ctx->route = job->route;
	ctx->persona = ctx->plan.persona = job->persona;
	ctx->user_agent = g_strdup(job->user_agent);
	ctx->plan.opens = job->opens;
	ctx->plan.clicks = job->clicks;
	if (job->feedback_type) {	/* drawn when the message ran: the complaint draws nothing more */
		ctx->plan.feedback_type = sink_feedback_type_named(job->feedback_type);
		ctx->plan.feedback_chosen = ctx->plan.feedback_type != NULL;
	}
	ctx->plan.unsubscribe = job->unsubscribe;
	g_free(ctx->dkim);
	ctx->dkim = g_strdup("pass");
	for (guint i = 0; i < job->sigs->len; i++) {
		const SinkDkimSig *s = job->sigs->pdata[i];
		SinkDkimSig *copy = g_new0(SinkDkimSig, 1);

		copy->domain = g_strdup(s->domain);
		copy->selector = g_strdup(s->selector);
		copy->result = g_strdup(s->result);
		copy->headers = g_strdupv(s->headers);
		g_ptr_array_add(ctx->dkim_sigs, copy);
		if (ctx->dkim_domain == NULL && g_strcmp0(s->result, "pass") == 0)
			ctx->dkim_domain = g_strdup(s->domain);
	}
	if (ctx->mime)
		sink_one_click_read(ctx);	/* (counted when the message ran) */
}
