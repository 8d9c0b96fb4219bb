/*
 * test_list_links.c -- Link rel=next/prev from a list envelope's head:
 * the cursor continues with after=, numbered pages link page-1 / page+1,
 * other query parameters are kept, page and after are replaced.
 */
#include <string.h>

#include "list_links.h"
#include "unit.h"

static const char *link_of(const char *body, const char *qs, char *out, size_t outlen)
{
	struct list_envelope env;

	if (list_envelope_read(body, strlen(body), &env) < 0)
		return "(not an envelope)";
	if (list_link_header("/api/v1/risks", qs, &env, out, outlen) < 0)
		return "(too long)";
	return out;
}

void test_list_links(void)
{
	char out[4096];
	struct list_envelope env;

	CHECK_STR(link_of("{\"total\" : 50, \"page\" : 1, \"page_size\" : 20, \"next\" : \"AbC-_9\", \"items\" : []}",
			  "page_size=20&sort_by=title", out, sizeof out),
		  "Link: </api/v1/risks?page_size=20&sort_by=title&after=AbC-_9>; rel=\"next\"\r\n");
	CHECK_STR(link_of("{\"total\" : 50, \"page\" : 2, \"page_size\" : 20, \"next\" : \"X\", \"items\" : [{\"next\": 1}]}",
			  "page=2&q=a%20b", out, sizeof out),
		  "Link: </api/v1/risks?q=a%20b&after=X>; rel=\"next\", </api/v1/risks?q=a%20b&page=1>; rel=\"prev\"\r\n");
	/* a cursor page: next only, after replaced */
	CHECK_STR(link_of("{\"total\" : 50, \"page\" : null, \"page_size\" : 20, \"next\" : \"Y\", \"items\" : []}",
			  "after=X&page_size=20", out, sizeof out),
		  "Link: </api/v1/risks?page_size=20&after=Y>; rel=\"next\"\r\n");
	/* numbered pages without a cursor (search, connectors) */
	CHECK_STR(link_of("{\"total\" : 45, \"total_exact\" : true, \"page\" : 2, \"page_size\" : 20, \"next\" : null, "
			  "\"q\" : \"a \\\"quoted\\\", term\", \"items\" : []}",
			  "q=x&page=2", out, sizeof out),
		  "Link: </api/v1/risks?q=x&page=3>; rel=\"next\", </api/v1/risks?q=x&page=1>; rel=\"prev\"\r\n");
	/* the last page of one */
	CHECK_STR(link_of("{\"total\" : 3, \"page\" : 1, \"page_size\" : 20, \"next\" : null, \"items\" : []}", NULL, out,
			  sizeof out),
		  "");
	/* an encoded "page" name is still page */
	CHECK_STR(link_of("{\"total\" : 30, \"page\" : 1, \"page_size\" : 20, \"next\" : null, \"items\" : []}", "p%61ge=1",
			  out, sizeof out),
		  "Link: </api/v1/risks?page=2>; rel=\"next\"\r\n");
	/* not an envelope, or a cursor that is not base64url: no link */
	CHECK_INT(list_envelope_read("[1]", 3, &env), -1);
	CHECK_STR(link_of("{\"total\" : 3, \"page\" : null, \"page_size\" : 1, \"next\" : \"a>b\", \"items\" : []}", NULL,
			  out, sizeof out),
		  "");
	CHECK_INT(list_envelope_read("{\"total\" : 3", 12, &env), -1);
	/* too small a buffer: -1, never a cut header */
	CHECK_INT(list_envelope_read("{\"page\" : 1, \"next\" : \"abcdef\", \"items\" : []}", 45, &env), 0);
	CHECK_STR(env.next, "abcdef");
	CHECK_INT(list_link_header("/x", NULL, &env, out, 10), -1);
}
