/*
 * http_reply.c -- single-write replies and conditional GETs (see
 * http_reply.h).  Replies up to 16 kB are assembled on the stack; larger
 * ones cost one malloc, never a second write.
 */
#include "http_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define STACK_REPLY 16384

static int is_head_request(struct mg_connection *conn)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	return ri && ri->request_method && strcmp(ri->request_method, "HEAD") == 0;
}

int reply_send(struct mg_connection *conn, int status, const char *extra_headers, const char *body,
	       size_t body_len)
{
	return reply_send_as(conn, status, "application/json", extra_headers, body, body_len);
}

int reply_send_as(struct mg_connection *conn, int status, const char *content_type,
		  const char *extra_headers, const char *body, size_t body_len)
{
	char stack[STACK_REPLY], head[8192];
	char *out = stack;
	int hn, rc;
	size_t total;

	if (status == 204 || status == 304)
		hn = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s\r\n", status, http_status_text(status),
			      extra_headers ? extra_headers : "");
	else
		hn = snprintf(head, sizeof head,
			      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			      status, http_status_text(status), content_type, body ? body_len : 0,
			      extra_headers ? extra_headers : "");
	if (hn < 0 || (size_t)hn >= sizeof head)
		return -1;
	/* a reply to HEAD has the headers of the GET reply but never a body
	 * (RFC 9110 9.3.2): a keep-alive client would read it as the next reply */
	if (!body || status == 204 || status == 304 || is_head_request(conn))
		body_len = 0;
	total = (size_t)hn + body_len;
	if (total > sizeof stack) {
		out = malloc(total);
		if (!out)
			return -1;
	}
	memcpy(out, head, (size_t)hn);
	if (body_len)
		memcpy(out + hn, body, body_len);
	rc = mg_write(conn, out, total);
	if (out != stack)
		free(out);
	return rc == (int)total ? 0 : -1;
}

int reply_error(struct mg_connection *conn, int status, const char *code, const char *message,
		const char *extra_headers)
{
	char body[1024];
	int n = error_body(code, message, body, sizeof body);

	if (n < 0)
		n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"error\"}}", code);
	return reply_send(conn, status, extra_headers, body, (size_t)n);
}

int http_etag_matches(const char *inm, const char *etag)
{
	char quoted[80];

	if (!inm || !etag || !*etag)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	snprintf(quoted, sizeof quoted, "\"%s\"", etag);
	return strstr(inm, quoted) != NULL;
}

int reply_send_conditional(struct mg_connection *conn, const char *extra_headers, const char *etag,
			   const char *body, size_t body_len)
{
	if (http_etag_matches(mg_get_header(conn, "If-None-Match"), etag)) {
		reply_send(conn, 304, extra_headers, NULL, 0);
		return 304;
	}
	reply_send(conn, 200, extra_headers, body, body_len);
	return 200;
}
