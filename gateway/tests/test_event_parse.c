/*
 * test_event_parse.c -- notification payloads to per-tenant events: a
 * tenant's patterns reach that tenant only, global ones everyone, and
 * what cannot be named safely (overflow, truncation, "*", odd segments,
 * too much) becomes a resync that names nothing.
 */
#include "event_parse.h"
#include "unit.h"

#define TA "00000000-0000-4000-8000-000000000001"
#define TB "00000000-0000-4000-8000-000000000002"

static struct event_group g[EVENT_MAX_GROUPS];

/* The group of tenant in g[0..n), or NULL. */
static const struct event_group *find(int n, const char *tenant)
{
	for (int i = 0; i < n; i++)
		if (strcmp(g[i].tenant, tenant) == 0)
			return &g[i];
	return NULL;
}

static void tenants_get_their_own_patterns(void)
{
	const struct event_group *a, *b;
	char out[512];
	int n = event_parse("{\"patterns\":[\"risk:list:" TA ":*\",\"risk:id:" TA ":9b1c\",\"risk:list:" TA
			    ":*\",\"dashboard:stats:" TA ":month\",\"risk:history:" TB ":77:*\"],\"count\":5,"
			    "\"truncated\":false,\"xid\":9,\"pid\":1}",
			    g, EVENT_MAX_GROUPS);

	CHECK_INT(n, 2);
	a = find(n, TA);
	b = find(n, TB);
	CHECK(a && b && !find(n, ""));
	if (!a || !b)
		return;
	CHECK_INT(a->nkinds, 3); /* risk:list once */
	CHECK_INT(a->resync, 0);
	CHECK(event_format(a, out, sizeof out) > 0);
	CHECK_STR(out, "event: change\ndata: {\"namespaces\":[\"risk\",\"dashboard\"],\"kinds\":[\"risk:list\","
		       "\"risk:id\",\"dashboard:stats\"]}\n\n");
	CHECK(strstr(out, TA) == NULL); /* kinds, never keys */
	CHECK(event_format(b, out, sizeof out) > 0);
	CHECK_STR(out, "event: change\ndata: {\"namespaces\":[\"risk\"],\"kinds\":[\"risk:history\"]}\n\n");
}

static void global_patterns_reach_everyone(void)
{
	char out[512];
	/* the connector catalogue; a TRUNCATE's every-tenant families; an upper-case tenant */
	int n = event_parse("{\"patterns\":[\"connector:list:*\",\"connector:id:*\",\"risk:list:*\",\"risk:*\","
			    "\"app:id:00000000-0000-4000-8000-00000000000A:x\"]}",
			    g, EVENT_MAX_GROUPS);
	const struct event_group *all = find(n, "");

	CHECK_INT(n, 2);
	CHECK(all && find(n, "00000000-0000-4000-8000-00000000000a"));
	if (!all)
		return;
	CHECK(event_format(all, out, sizeof out) > 0);
	CHECK_STR(out, "event: change\ndata: {\"namespaces\":[\"connector\",\"risk\"],\"kinds\":[\"connector:list\","
		       "\"connector:id\",\"risk:list\",\"risk:*\"]}\n\n");
}

static void what_cannot_be_named_is_a_resync(void)
{
	static const struct {
		const char *payload, *tenant, *reason;
	} cases[] = {
		{"{\"overflow\":true,\"lost\":12}", "", "notifications_lost"},
		{"{\"patterns\":[\"risk:list:" TA ":*\"],\"truncated\":true}", "", "notifications_lost"},
		{"not json", "", "notifications_lost"},
		{"[1,2]", "", "notifications_lost"},
		{"{\"patterns\":\"risk:list:*\"}", "", "notifications_lost"},
		{"{\"patterns\":[\"*\"]}", "", "unnamed_change"},
		{"{\"patterns\":[42]}", "", "unnamed_change"},
		/* a segment that is no plain name (e.g. a tenant id typed into a custom key) */
		{"{\"patterns\":[\"x:" TB ":*\"]}", "", "unnamed_change"},
		{"{\"patterns\":[\"Risk:list:" TA ":*\"]}", TA, "unnamed_change"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = event_parse(cases[i].payload, g, EVENT_MAX_GROUPS);

		CHECK_INT(n, 1);
		CHECK_STR(g[0].tenant, cases[i].tenant);
		CHECK_INT(g[0].resync, 1);
		CHECK_STR(g[0].reason, cases[i].reason);
		CHECK(event_format(&g[0], out, sizeof out) > 0);
		CHECK(strncmp(out, "event: resync\n", 14) == 0 && strstr(out, TB) == NULL);
	}
	CHECK_INT(event_parse(NULL, g, EVENT_MAX_GROUPS), 1);
	CHECK_INT(event_parse("{\"patterns\":[]}", g, EVENT_MAX_GROUPS), 0); /* nothing to tell */
}

static void too_much_is_a_resync(void)
{
	char payload[8192], out[64];
	size_t len = (size_t)snprintf(payload, sizeof payload, "{\"patterns\":[");
	int n;

	/* more kinds than a group lists: that tenant resyncs */
	for (int i = 0; i < EVENT_MAX_KINDS + 1; i++)
		len += (size_t)snprintf(payload + len, sizeof payload - len, "%s\"risk:k%d:" TA ":*\"", i ? "," : "", i);
	snprintf(payload + len, sizeof payload - len, "]}");
	n = event_parse(payload, g, EVENT_MAX_GROUPS);
	CHECK_INT(n, 1);
	CHECK(g[0].resync && strcmp(g[0].reason, "too_many_changes") == 0 && strcmp(g[0].tenant, TA) == 0);
	/* more tenants than groups: everyone resyncs */
	len = (size_t)snprintf(payload, sizeof payload, "{\"patterns\":[");
	for (int i = 0; i < EVENT_MAX_GROUPS + 1; i++)
		len += (size_t)snprintf(payload + len, sizeof payload - len,
					"%s\"risk:list:00000000-0000-4000-8000-%012d:*\"", i ? "," : "", i);
	snprintf(payload + len, sizeof payload - len, "]}");
	n = event_parse(payload, g, EVENT_MAX_GROUPS);
	CHECK_INT(n, 1);
	CHECK(g[0].resync && g[0].tenant[0] == '\0');
	/* and a buffer too small is refused, not overrun */
	CHECK_INT(event_format(&g[0], out, 8), -1);
}

void test_event_parse(void)
{
	tenants_get_their_own_patterns();
	global_patterns_reach_everyone();
	what_cannot_be_named_is_a_resync();
	too_much_is_a_resync();
}
