/*
 * fake_civetweb.c -- the civetweb calls of the request path, on memory
 * (see fake_civetweb.h).  Header lookup is case-insensitive like
 * civetweb's; mg_read hands the body out in small pieces so the gateway's
 * read loop is exercised, not just its first call.
 */
#include "fake_civetweb.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define READ_PIECE 7

void fake_request(struct mg_connection *c, const char *method, const char *target, const char *body)
{
	const char *q = strchr(target, '?');

	memset(c, 0, sizeof *c);
	snprintf(c->method, sizeof c->method, "%s", method);
	snprintf(c->path, sizeof c->path, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
	snprintf(c->query, sizeof c->query, "%s", q ? q + 1 : "");
	c->ri.request_method = c->method;
	c->ri.request_uri = c->ri.local_uri = c->ri.local_uri_raw = c->path;
	c->ri.query_string = q ? c->query : NULL;
	c->ri.http_version = "1.1";
	c->body = body;
	c->body_len = body ? strlen(body) : 0;
	c->ri.content_length = body ? (long long)c->body_len : -1;
}

void fake_header(struct mg_connection *c, const char *name, const char *value)
{
	if (c->nheaders < FAKE_MAX_HEADERS) {
		c->names[c->nheaders] = name;
		c->values[c->nheaders++] = value;
	}
}

const struct mg_request_info *mg_get_request_info(const struct mg_connection *c)
{
	return &c->ri;
}

const char *mg_get_header(const struct mg_connection *c, const char *name)
{
	for (int i = 0; i < c->nheaders; i++)
		if (strcasecmp(c->names[i], name) == 0)
			return c->values[i];
	return NULL;
}

int mg_read(struct mg_connection *c, void *buf, size_t len)
{
	size_t n = c->body_len - c->body_read;

	if (n > len)
		n = len;
	if (n > READ_PIECE)
		n = READ_PIECE;
	memcpy(buf, c->body + c->body_read, n);
	c->body_read += n;
	return (int)n;
}

int mg_write(struct mg_connection *c, const void *buf, size_t len)
{
	if (len >= sizeof c->out - c->out_len)
		return -1;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	c->out[c->out_len] = '\0';
	c->writes++;
	return (int)len;
}

void mg_disable_connection_keep_alive(struct mg_connection *c)
{
	c->keep_alive_disabled = 1;
}

/* listener.c is linked for its http_error callback; nothing starts here. */
struct mg_context *mg_start(const struct mg_callbacks *callbacks, void *user_data, const char **options)
{
	(void)callbacks;
	(void)user_data;
	(void)options;
	return NULL;
}

int fake_status(const struct mg_connection *c)
{
	int status;

	if (sscanf(c->out, "HTTP/1.1 %d ", &status) != 1)
		return -1;
	return status;
}

const char *fake_reply_header(const struct mg_connection *c, const char *name, char *out, size_t outlen)
{
	const char *end = strstr(c->out, "\r\n\r\n");
	size_t nlen = strlen(name);

	for (const char *line = strstr(c->out, "\r\n"); line && end && line < end; line = strstr(line + 2, "\r\n")) {
		const char *h = line + 2;
		if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':') {
			const char *v = h + nlen + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

const char *fake_body(const struct mg_connection *c)
{
	const char *end = strstr(c->out, "\r\n\r\n");

	return end ? end + 4 : "";
}
