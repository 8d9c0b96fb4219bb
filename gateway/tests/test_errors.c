/*
 * test_errors.c -- SQLSTATE classes map to the documented statuses, only
 * user-facing classes pass the database's message on, and error bodies
 * stay valid JSON whatever the message holds.
 */
#include <json-c/json.h>

#include "errors.h"
#include "unit.h"

/* raised by the extension's own code (a RAISE): its sentence may show */
static void expect(const char *sqlstate, int status, const char *code, int show)
{
	struct sql_error_map m;

	sqlstate_map(sqlstate, 1, &m);
	CHECK_INT(m.status, status);
	CHECK_STR(m.code, code);
	CHECK_INT(m.show_db_message, show);
	CHECK(show || status == 500 || (m.message && m.message[0]));
}

/* PostgreSQL's own error of the same SQLSTATE: never its text */
static void expect_theirs(const char *sqlstate, int status, const char *code)
{
	struct sql_error_map m;

	sqlstate_map(sqlstate, 0, &m);
	CHECK_INT(m.status, status);
	CHECK_STR(m.code, code);
	CHECK_INT(m.show_db_message, 0);
	CHECK(status == 500 || (m.message && m.message[0]));
}

void test_errors(void)
{
	char body[1024];
	json_object *o, *e, *v;

	/* one code per kind: every invalid request is bad_request */
	expect("22023", 400, "bad_request", 1);
	expect("22P02", 400, "bad_request", 1);
	expect("23514", 400, "bad_request", 1);
	expect("23505", 400, "bad_request", 1);
	expect("23502", 400, "bad_request", 1);
	expect("P0002", 404, "not_found", 1);
	expect("42501", 403, "forbidden", 1);
	expect(NULL, 503, "database_unavailable", 0);
	expect("08006", 503, "database_unavailable", 0);
	expect("57P01", 503, "database_unavailable", 0);
	expect("53300", 503, "busy", 0);
	expect("40001", 503, "busy", 0);
	expect("57014", 503, "busy", 0);
	/* bugs: never the database's text (it may quote SQL) */
	expect("42883", 500, "internal", 0);
	expect("42601", 500, "internal", 0);
	expect("XX000", 500, "internal", 0);
	expect("P0001", 500, "internal", 0);
	expect("2", 503, "database_unavailable", 0);
	expect_theirs("22P02", 400, "bad_request"); /* invalid input syntax for type uuid: "nope" */
	expect_theirs("22P05", 400, "bad_request"); /* unsupported Unicode escape sequence */
	expect_theirs("23514", 400, "bad_request");
	expect_theirs("42501", 500, "internal"); /* permission denied for function ...: our role lacks a grant */
	CHECK(sql_error_is_ours("exec_stmt_raise"));
	CHECK(sql_error_is_ours("openrisk_tenant_arg"));
	CHECK(!sql_error_is_ours("string_to_uuid"));
	CHECK(!sql_error_is_ours("aclcheck_error"));
	CHECK(!sql_error_is_ours(NULL));

	CHECK(error_body("bad_request", "title \"x\"\nis\ttoo long\n", body, sizeof body) > 0);
	o = json_tokener_parse(body);
	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "error", &e));
	CHECK(json_object_object_get_ex(e, "message", &v));
	CHECK_STR(json_object_get_string(v), "title \"x\"\nis\ttoo long");
	CHECK(json_object_object_get_ex(e, "code", &v));
	CHECK_STR(json_object_get_string(v), "bad_request");
	json_object_put(o);
	CHECK_INT(error_body("x", "y", body, 10), -1);
	CHECK_STR(http_status_text(415), "Unsupported Media Type");
	CHECK_STR(http_status_code(413), "payload_too_large");
	CHECK_STR(http_status_code(599), "internal");
	CHECK_STR(http_status_code(503), "busy");
}
