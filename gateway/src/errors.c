/*
 * errors.c -- SQLSTATE to HTTP mapping and JSON error bodies.
 *
 * The endpoint functions (sql/) raise documented SQLSTATEs with human
 * sentences: 22xxx bad parameter, 23xxx constraint, P0002 not found, 42501
 * permission.  Those messages are meant for users and are passed on.
 * Anything else is either the database being unavailable (503: retry) or a
 * bug (500: the client gets a request id, the log gets the detail).
 */
#include "errors.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

void sqlstate_map(const char *s, struct sql_error_map *out)
{
	static const struct sql_error_map
		bad_request = {400, "bad_request", 1, 0},
		constraint = {400, "constraint_violation", 1, 0},
		not_found = {404, "not_found", 1, 0},
		forbidden = {403, "forbidden", 1, 0},
		unavailable = {503, "unavailable", 0, 1},
		busy = {503, "busy", 0, 1},
		internal = {500, "internal", 0, 0};

	if (!s || strlen(s) != 5)
		*out = unavailable; /* no SQLSTATE: the connection went away */
	else if (strncmp(s, "22", 2) == 0)
		*out = bad_request;
	else if (strncmp(s, "23", 2) == 0)
		*out = constraint;
	else if (strcmp(s, "P0002") == 0)
		*out = not_found;
	else if (strcmp(s, "42501") == 0)
		*out = forbidden;
	else if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 || strncmp(s, "53", 2) == 0)
		*out = unavailable; /* connection exception, shutdown, resources */
	else if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0 ||
		 strcmp(s, "57014") == 0)
		*out = busy; /* serialization, deadlock, lock or statement timeout */
	else
		*out = internal;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return status < 500 ? "Bad Request" : "Internal Server Error";
	}
}

const char *http_status_code(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 408: return "request_timeout";
	case 411: return "length_required";
	case 412: return "precondition_failed";
	case 413: return "payload_too_large";
	case 414: return "uri_too_long";
	case 415: return "unsupported_media_type";
	case 431: return "headers_too_large";
	case 501: return "not_implemented";
	case 503: return "unavailable";
	case 505: return "http_version_not_supported";
	default: return status < 500 ? "bad_request" : "internal";
	}
}

int error_body(const char *code, const char *message, char *out, size_t outlen)
{
	char msg[512];
	json_object *root, *err;
	const char *text;
	int n;

	/* a bounded message; a trailing newline from PostgreSQL is dropped */
	snprintf(msg, sizeof msg, "%s", message ? message : "");
	for (size_t len = strlen(msg); len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ');)
		msg[--len] = '\0';

	root = json_object_new_object();
	err = json_object_new_object();
	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(msg));
	json_object_object_add(root, "error", err);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = snprintf(out, outlen, "%s", text);
	json_object_put(root);
	return (n < 0 || (size_t)n >= outlen) ? -1 : n;
}
