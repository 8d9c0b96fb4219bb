/*
 * event_parse.c -- notification payloads to per-tenant events (see
 * event_parse.h for what a stream may learn and why the rest is a resync).
 */
#include "event_parse.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth_jwt.h"

/* A namespace or kind: a plain lower-case name, as every key family has. */
static int is_name(const char *s, size_t len)
{
	if (len == 0 || len >= EVENT_NAME_MAX || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The group of tenant ("" = everyone), added when new; NULL when full. */
static struct event_group *group_of(struct event_group *out, int *n, int max, const char *tenant)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(out[i].tenant, tenant) == 0)
			return &out[i];
	if (*n >= max)
		return NULL;
	memset(&out[*n], 0, sizeof out[*n]);
	snprintf(out[*n].tenant, sizeof out[*n].tenant, "%s", tenant);
	return &out[(*n)++];
}

static void add_kind(struct event_group *g, const char *kind)
{
	if (g->resync)
		return;
	for (int i = 0; i < g->nkinds; i++)
		if (strcmp(g->kinds[i], kind) == 0)
			return;
	if (g->nkinds >= EVENT_MAX_KINDS) {
		g->resync = 1; /* too much changed to list: everything did */
		g->reason = "too_many_changes";
		return;
	}
	snprintf(g->kinds[g->nkinds++], sizeof g->kinds[0], "%s", kind);
}

/* Everyone must resync: the payload is no complete list, or too long a one. */
static int everyone_resyncs(struct event_group *out, int max, const char *reason)
{
	if (max < 1)
		return 0;
	memset(&out[0], 0, sizeof out[0]);
	out[0].resync = 1;
	out[0].reason = reason;
	return 1;
}

/*
 * One pattern into its group: "<ns>:<kind>:<tenant uuid>:..." -> that
 * tenant; a third segment that is no tenant id (or none) -> everyone.
 * Returns -1 when the groups are full.
 */
static int add_pattern(const char *p, struct event_group *out, int *n, int max)
{
	const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	const char *third = c2 ? c2 + 1 : NULL;
	size_t third_len = third ? strcspn(third, ":") : 0;
	char tenant[37] = "", kind[2 * EVENT_NAME_MAX + 2];
	struct event_group *g;
	int named;

	if (third && third_len == UUID_TEXT_LEN) {
		for (int i = 0; i < UUID_TEXT_LEN; i++) /* streams know their tenant in canonical lower case */
			tenant[i] = (char)tolower((unsigned char)third[i]);
		if (!uuid_is_valid(tenant))
			tenant[0] = '\0';
	}
	g = group_of(out, n, max, tenant);
	if (!g)
		return -1;
	named = c1 && is_name(p, (size_t)(c1 - p));
	if (named && c2 && is_name(c1 + 1, (size_t)(c2 - c1 - 1)))
		snprintf(kind, sizeof kind, "%.*s", (int)(c2 - p), p);
	else if (named && strcmp(c1 + 1, "*") == 0)
		snprintf(kind, sizeof kind, "%.*s*", (int)(c1 - p + 1), p); /* "risk:*" */
	else {
		g->resync = 1; /* "*", or segments we cannot name safely */
		g->reason = "unnamed_change";
		return 0;
	}
	add_kind(g, kind);
	return 0;
}

int event_parse(const char *payload, struct event_group *out, int max)
{
	json_object *root = payload ? json_tokener_parse(payload) : NULL, *v, *patterns;
	int n = 0;

	if (!root || !json_object_is_type(root, json_type_object) ||
	    (json_object_object_get_ex(root, "overflow", &v) && json_object_get_boolean(v)) ||
	    (json_object_object_get_ex(root, "truncated", &v) && json_object_get_boolean(v)) ||
	    !json_object_object_get_ex(root, "patterns", &patterns) || !json_object_is_type(patterns, json_type_array)) {
		json_object_put(root);
		return everyone_resyncs(out, max, "notifications_lost");
	}
	for (size_t i = 0; i < json_object_array_length(patterns); i++) {
		json_object *p = json_object_array_get_idx(patterns, i);

		if (!json_object_is_type(p, json_type_string)) {
			n = everyone_resyncs(out, max, "unnamed_change");
			break;
		}
		if (add_pattern(json_object_get_string(p), out, &n, max) < 0) {
			n = everyone_resyncs(out, max, "too_many_changes");
			break;
		}
	}
	json_object_put(root);
	return n;
}

/* Bounded appending for event_format: an overflow shows as len >= cap. */
struct text_out {
	char *p;
	size_t len, cap;
};

static void appendf(struct text_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len = n < 0 ? o->cap : o->len + (size_t)n;
}

int event_format(const struct event_group *g, char *out, size_t outlen)
{
	struct text_out o = {out, 0, outlen};
	int first = 1;

	if (g->resync) {
		appendf(&o, "event: resync\ndata: {\"reason\":\"%s\"}\n\n", g->reason ? g->reason : "unnamed_change");
		return o.len < outlen ? (int)o.len : -1;
	}
	appendf(&o, "event: change\ndata: {\"namespaces\":[");
	for (int i = 0; i < g->nkinds; i++) {
		size_t ns = strcspn(g->kinds[i], ":");
		int seen = 0;

		for (int j = 0; j < i; j++)
			seen |= strncmp(g->kinds[j], g->kinds[i], ns + 1) == 0;
		if (!seen) {
			appendf(&o, "%s\"%.*s\"", first ? "" : ",", (int)ns, g->kinds[i]);
			first = 0;
		}
	}
	appendf(&o, "],\"kinds\":[");
	for (int i = 0; i < g->nkinds; i++)
		appendf(&o, "%s\"%s\"", i ? "," : "", g->kinds[i]);
	appendf(&o, "]}\n\n");
	return o.len < outlen ? (int)o.len : -1;
}
