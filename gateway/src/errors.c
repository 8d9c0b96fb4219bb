/*
 * errors.c -- SQLSTATE to HTTP mapping and JSON error bodies.
 *
 * The endpoint functions raise documented SQLSTATEs with human sentences:
 * 22xxx bad parameter, 23xxx constraint, P0002 not found, 42501
 * permission.  Those messages are meant for users and are passed on --
 * but only when the extension's own code raised them: PostgreSQL's own
 * messages of the same classes quote its internals ("invalid input syntax
 * for type uuid: \"nope\"", "permission denied for function risk_list"),
 * so they are replaced by a fixed sentence of the mapping.
 *
 * One code per kind of failure: every invalid request is bad_request
 * (a parameter, a field of the body or a rule of the table: the client
 * fixes its request either way); the database down or restarting is
 * database_unavailable whichever way it showed (lost connection, 08xxx,
 * 57Pxx); contention (53xxx resources, serialization, deadlock, lock or
 * statement timeout) is busy.  Anything else is a bug (500: the client
 * gets a request id, the log gets the detail), and so is a 42501 the
 * extension did not raise: the gateway's own role lacks a grant.
 */
#include "errors.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

int sql_error_is_ours(const char *source_function)
{
	return source_function &&
	       (strcmp(source_function, "exec_stmt_raise") == 0 || strncmp(source_function, "openrisk_", 9) == 0);
}

void sqlstate_map(const char *s, int ours, struct sql_error_map *out)
{
	static const struct sql_error_map
		bad_request = {400, "bad_request", 1, 0, "a parameter or a field of the body is not valid"},
		not_found = {404, "not_found", 1, 0, "not found"},
		forbidden = {403, "forbidden", 1, 0, "not allowed"},
		unavailable = {503, "database_unavailable", 0, 1, "the database is unavailable; retry shortly"},
		busy = {503, "busy", 0, 1, "the database is busy; retry shortly"},
		internal = {500, "internal", 0, 0, NULL};

	if (!s || strlen(s) != 5)
		*out = unavailable; /* no SQLSTATE: the connection went away */
	else if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0) {
		*out = bad_request;
		if (strcmp(s, "22P05") == 0) /* jsonb: \u0000 or an unpaired surrogate */
			out->message = "text in the body may not contain \\u0000 or unpaired surrogates";
		else if (strcmp(s, "22P02") == 0)
			out->message = "a value in the request is not in the expected format";
		else if (strcmp(s, "22003") == 0)
			out->message = "a number in the request is out of range";
		else if (strcmp(s, "22001") == 0)
			out->message = "a value in the request is too long";
	} else if (strcmp(s, "P0002") == 0)
		*out = not_found;
	else if (strcmp(s, "42501") == 0)
		*out = ours ? forbidden : internal;
	else if (strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0)
		*out = unavailable; /* connection exception, shutdown */
	else if (strncmp(s, "53", 2) == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 ||
		 strcmp(s, "55P03") == 0 || strcmp(s, "57014") == 0)
		*out = busy; /* resources, serialization, deadlock, lock or statement timeout */
	else
		*out = internal;
	if (!ours)
		out->show_db_message = 0;
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
	case 503: return "busy";
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
