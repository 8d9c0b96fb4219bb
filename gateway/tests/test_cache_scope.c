/*
 * test_cache_scope.c -- an admin may invalidate their own tenant's keys and
 * nothing else: not another tenant's, not global namespaces, not a bare
 * glob that would match everything.
 */
#include "cache_scope.h"
#include "unit.h"

static const char me[] = "00000000-0000-4000-8000-000000000001";

static int ok(const char *pattern, char *out)
{
	char err[256];
	return cache_scope_check(pattern, me, out, 512, err, sizeof err);
}

void test_cache_scope(void)
{
	char out[512], err[256];

	CHECK_INT(ok("risk:list:00000000-0000-4000-8000-000000000001:*", out), 0);
	CHECK_STR(out, "risk:list:00000000-0000-4000-8000-000000000001:*");
	CHECK_INT(ok("dashboard:stats:00000000-0000-4000-8000-000000000001", out), 0);
	CHECK_INT(ok("risk:id:00000000-0000-4000-8000-000000000001:4f0c1c1e-0000-4000-8000-000000000009", out), 0);
	CHECK_INT(ok("app:id:00000000-0000-4000-8000-000000000001:*", out), 0);
	CHECK_INT(ok("RISK:list:00000000-0000-4000-8000-000000000001:*", out), -1);
	/* upper-case tenant is the same tenant, normalized */
	CHECK_INT(ok("risk:list:00000000-0000-4000-8000-00000000000A:*", out), -1);
	CHECK_INT(cache_scope_check("risk:list:ABCDEF00-0000-4000-8000-000000000001:*",
				    "abcdef00-0000-4000-8000-000000000001", out, sizeof out, err, sizeof err),
		  0);
	CHECK_STR(out, "risk:list:abcdef00-0000-4000-8000-000000000001:*");

	/* other tenants, other namespaces, bare globs */
	CHECK_INT(ok("risk:list:00000000-0000-4000-8000-000000000002:*", out), -1);
	CHECK_INT(cache_scope_check("risk:list:00000000-0000-4000-8000-000000000002:*", me, out, sizeof out, err,
				    sizeof err),
		  -1);
	CHECK(strstr(err, "own tenant") != NULL);
	CHECK_INT(ok("*", out), -1);
	CHECK_INT(ok("risk:*", out), -1);
	CHECK_INT(ok("risk:*:00000000-0000-4000-8000-000000000001:*", out), -1);
	CHECK_INT(ok("risk:list:*", out), -1);
	CHECK_INT(ok("risk:list:00000000-0000-4000-8000-000000000001*", out), -1);
	CHECK_INT(ok("connector:list:*", out), -1);
	CHECK_INT(ok("connector:id:00000000-0000-4000-8000-000000000001", out), -1);
	CHECK_INT(ok("", out), -1);
	CHECK_INT(ok("risk:list:00000000-0000-4000-8000-000000000001:\n", out), -1);
	CHECK_INT(ok(NULL, out), -1);
	{
		char longp[600];
		snprintf(longp, sizeof longp, "risk:list:%s:", me);
		memset(longp + strlen(longp), 'x', 450);
		longp[sizeof longp - 1] = '\0';
		CHECK_INT(ok(longp, out), -1);
	}
}
