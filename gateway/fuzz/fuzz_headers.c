/*
 * fuzz_headers.c -- the header-derived values the gateway handles itself:
 * the Authorization header, durations (operator input, also reached from
 * headers in tests), SQLSTATEs from the server, and the escaping that
 * keeps request bytes from forging access-log lines.
 *
 * Input: arbitrary bytes.  Invariants: log_escape output is bounded,
 * NUL-terminated and printable (control bytes, quotes and backslashes as \\xNN);
 * jwt_from_authorization returns a pointer inside its argument; every
 * SQLSTATE maps to a 4xx/5xx with a non-empty code; durations are -1 or
 * non-negative.
 */
#include "auth_jwt.h"
#include "config.h"
#include "errors.h"
#include "fuzz.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = fuzz_cstr(data, len), esc[256], tiny[6];
	const char *tok;
	struct sql_error_map m;
	int64_t ms;

	log_escape(s, esc, sizeof esc);
	FUZZ_ASSERT(strlen(esc) < sizeof esc && fuzz_escaped(esc));
	log_escape(s, tiny, sizeof tiny);
	FUZZ_ASSERT(strlen(tiny) < sizeof tiny && fuzz_escaped(tiny));

	tok = jwt_from_authorization(s);
	if (tok)
		FUZZ_ASSERT(tok >= s && tok <= s + strlen(s));

	ms = config_parse_duration_ms(s);
	FUZZ_ASSERT(ms >= -1);

	if (len >= 5) {
		char state[6];
		memcpy(state, data, 5);
		state[5] = '\0';
		sqlstate_map(state, data[0] & 1, &m);
		FUZZ_ASSERT(m.status >= 400 && m.status < 600 && m.code && m.code[0]);
		/* a message is always there when the database's is not shown */
		FUZZ_ASSERT(m.show_db_message || m.status == 500 || (m.message && m.message[0]));
		FUZZ_ASSERT(http_status_text(m.status)[0] && http_status_code(m.status)[0]);
	}
	FUZZ_ASSERT(role_parse(s) >= ROLE_NONE && role_parse(s) <= ROLE_ADMIN);
	(void)uuid_is_valid(s);
	free(s);
	return 0;
}
