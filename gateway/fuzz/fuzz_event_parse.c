/*
 * fuzz_event_parse.c -- openrisk_cache notification payloads, on
 * arbitrary bytes (event_parse.h).
 *
 * The payload crosses a process boundary and whatever a stream is told
 * comes out of it, so: every group is "" or a canonical lower-case uuid,
 * no more groups than allowed,
 * every listed kind is "<name>:<name>" or "<name>:*" of plain lower-case
 * names, and the formatted event is one well-formed SSE block ("event:"
 * then "data:" then a blank line, no other newline) that fits its buffer.
 */
#include <ctype.h>

#include "auth_jwt.h"
#include "event_parse.h"
#include "fuzz.h"

static int plain_kind(const char *k)
{
	const char *colon = strchr(k, ':');

	if (!colon || colon == k || !islower((unsigned char)k[0]))
		return 0;
	for (const char *p = k; *p; p++)
		if (p != colon && !(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' ||
				    (*p == '*' && p == colon + 1 && p[1] == '\0')))
			return 0;
	return colon[1] != '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct event_group g[EVENT_MAX_GROUPS];
	char *payload = fuzz_cstr(data, len), out[2048];
	int n = event_parse(payload, g, EVENT_MAX_GROUPS);

	FUZZ_ASSERT(n >= 0 && n <= EVENT_MAX_GROUPS);
	for (int i = 0; i < n; i++) {
		int m;

		FUZZ_ASSERT(g[i].tenant[0] == '\0' || uuid_is_valid(g[i].tenant));
		for (const char *t = g[i].tenant; *t; t++)
			FUZZ_ASSERT(!isupper((unsigned char)*t));
		FUZZ_ASSERT(g[i].nkinds >= 0 && g[i].nkinds <= EVENT_MAX_KINDS);
		if (!g[i].resync)
			for (int k = 0; k < g[i].nkinds; k++)
				FUZZ_ASSERT(plain_kind(g[i].kinds[k]));
		m = event_format(&g[i], out, sizeof out);
		FUZZ_ASSERT(m > 0 && (size_t)m < sizeof out && strlen(out) == (size_t)m);
		FUZZ_ASSERT(strncmp(out, "event: ", 7) == 0 && strstr(out, "\ndata: ") != NULL);
		FUZZ_ASSERT(strstr(out, "\n\n") == out + m - 2);
	}
	free(payload);
	return 0;
}
