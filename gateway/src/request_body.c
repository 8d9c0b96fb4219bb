/*
 * request_body.c -- the JSON body rules (see request_body.h).
 *
 * Checks in the order a client can fix them: media type (415), declared
 * size (413, before reading a byte), presence (400), actual size (413),
 * then the JSON itself (400).  "Valid" is strict: one complete json-c
 * parse, nothing after it, no NUL inside (PostgreSQL would cut the text
 * there), and an object at the top.
 */
#include "request_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "application/json", optionally with parameters such as charset. */
static int is_json_content_type(const char *ct)
{
	static const char json[] = "application/json";

	if (!ct || strncasecmp(ct, json, sizeof json - 1) != 0)
		return 0;
	ct += sizeof json - 1;
	return *ct == '\0' || *ct == ';' || *ct == ' ';
}

/* Read the whole body into a new buffer; 0, or the status replied. */
static int read_all(struct request *req, size_t max, char **out, size_t *outlen)
{
	long long cl = req->ri->content_length;
	size_t len = 0;
	char *buf;
	int n;

	if (!is_json_content_type(mg_get_header(req->conn, "Content-Type")))
		return request_fail_status(req, 415, "the request body must be JSON (Content-Type: application/json)", NULL);
	if (cl > (long long)max) {
		char msg[96];
		snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", max);
		return request_fail_status(req, 413, msg, NULL);
	}
	if (!req->body_unread)
		return request_fail_status(req, 400, "a JSON request body is required", NULL);
	buf = malloc(max + 2);
	if (!buf)
		return request_fail(req, 503, "busy", "the gateway is out of memory; retry shortly", "Retry-After: 1\r\n");
	while ((n = mg_read(req->conn, buf + len, max + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return request_fail_status(req, 413, "the request body is too large", NULL);
		}
	}
	buf[len] = '\0';
	req->body_unread = req->close_after = 0;
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Why a body is not JSON, in our words: json-c's own descriptions are
 * parser states ("continue", "object property name"), not sentences.
 */
static void json_malformed_message(json_tokener *tok, const char *buf, size_t len, char *msg, size_t msglen)
{
	enum json_tokener_error e = tok ? json_tokener_get_error(tok) : json_tokener_error_parse_eof;
	size_t at = tok ? json_tokener_get_parse_end(tok) : 0;

	if (!tok)
		snprintf(msg, msglen, "the request body could not be parsed");
	else if (strlen(buf) != len)
		snprintf(msg, msglen, "the request body is not valid JSON: it contains a NUL byte");
	else if (e == json_tokener_success)
		snprintf(msg, msglen, "the request body is not valid JSON: there is more after the value (byte %zu)", at + 1);
	else if (e == json_tokener_continue)
		snprintf(msg, msglen, "the request body is not valid JSON: it ends before the value does");
	else if (e == json_tokener_error_depth)
		snprintf(msg, msglen, "the request body is not valid JSON: it nests too deeply");
	else
		snprintf(msg, msglen, "the request body is not valid JSON: syntax error at byte %zu", at + 1);
}

int request_read_json(struct request *req, size_t max_body, char **body, json_object **parsed)
{
	json_tokener *tok;
	json_object *obj;
	size_t len = 0;
	char *buf = NULL;
	int status;

	*body = NULL;
	if ((status = read_all(req, max_body, &buf, &len)) != 0)
		return status;
	tok = json_tokener_new();
	obj = tok ? json_tokener_parse_ex(tok, buf, (int)len) : NULL;
	if (!tok || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || strlen(buf) != len) {
		char msg[160];
		json_malformed_message(tok, buf, len, msg, sizeof msg);
		json_object_put(obj);
		json_tokener_free(tok);
		free(buf);
		return request_fail_status(req, 400, msg, NULL);
	}
	json_tokener_free(tok);
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		free(buf);
		return request_fail_status(req, 400, "the request body must be a JSON object", NULL);
	}
	*body = buf;
	if (parsed)
		*parsed = obj;
	else
		json_object_put(obj);
	return 0;
}
