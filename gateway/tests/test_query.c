/*
 * test_query.c -- query-string lookup and decoding, including the hostile
 * cases: bad escapes, NUL bytes, over-long values, unknown names.
 */
#include "query.h"
#include "unit.h"

void test_query(void)
{
	char v[16], bad[16];
	static const char *const known[] = {"page", "q", NULL};

	CHECK_INT(query_get("page=2&q=a+b%2Fc", "q", v, sizeof v), 1);
	CHECK_STR(v, "a b/c");
	CHECK_INT(query_get("page=2&page=3", "page", v, sizeof v), 1);
	CHECK_STR(v, "2");
	CHECK_INT(query_get("pagex=2", "page", v, sizeof v), 0);
	CHECK_INT(query_get(NULL, "page", v, sizeof v), 0);
	CHECK_INT(query_get("", "page", v, sizeof v), 0);
	CHECK_INT(query_get("q", "q", v, sizeof v), 1);
	CHECK_STR(v, "");
	CHECK_INT(query_get("q=", "q", v, sizeof v), 1);
	CHECK_STR(v, "");
	CHECK_INT(query_get("&&q=1&&", "q", v, sizeof v), 1);
	CHECK_STR(v, "1");
	CHECK_INT(query_get("%71=enc", "q", v, sizeof v), 1); /* encoded name */
	CHECK_STR(v, "enc");
	CHECK_INT(query_get("q=%zz", "q", v, sizeof v), -1);
	CHECK_INT(query_get("q=%4", "q", v, sizeof v), -1);
	CHECK_INT(query_get("q=%", "q", v, sizeof v), -1);
	CHECK_INT(query_get("q=a%00b", "q", v, sizeof v), -1);
	CHECK_INT(query_get("q=0123456789abcdef", "q", v, sizeof v), -1);
	CHECK_INT(query_get("q=%c3%a9", "q", v, sizeof v), 1);
	CHECK_STR(v, "\xc3\xa9");

	CHECK_INT(query_check_names("page=1&q=x", known, bad, sizeof bad), 0);
	CHECK_INT(query_check_names(NULL, known, bad, sizeof bad), 0);
	CHECK_INT(query_check_names("page=1&tenant_id=x", known, bad, sizeof bad), -1);
	CHECK_STR(bad, "tenant_id");
	CHECK_INT(query_check_names("pag%65=1", known, bad, sizeof bad), 0);
}
