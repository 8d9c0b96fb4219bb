/*
 * test_cors.c -- the CORS policy: none by default, exact origins, "*"
 * without credentials only, Vary: Origin on every reply, preflights of an
 * allowed origin and method only.
 */
#include <string.h>

#include "config.h"
#include "cors.h"
#include "unit.h"

void test_cors(void)
{
	struct cors_policy p;
	struct gw_config cfg;
	char err[256], out[1024];

	/* default: off, no header at all */
	config_defaults(&cfg);
	CHECK_INT(cfg.cors.enabled, 0);
	CHECK_INT(cors_reply_headers(&cfg.cors, "https://evil.example", out, sizeof out), 0);
	CHECK_STR(out, "");
	CHECK_INT(cors_preflight(&cfg.cors, "https://evil.example", "GET", "GET", out, sizeof out), 0);

	CHECK_INT(cors_parse("https://app.example.com, http://localhost:3000", 1, 600, &p, err, sizeof err), 0);
	CHECK_INT(p.norigins, 2);
	CHECK(cors_origin_allowed(&p, "https://app.example.com"));
	CHECK(cors_origin_allowed(&p, "http://localhost:3000"));
	CHECK(!cors_origin_allowed(&p, "https://app.example.com.evil.example"));
	CHECK(!cors_origin_allowed(&p, "null"));
	CHECK(!cors_origin_allowed(&p, NULL));
	CHECK(cors_reply_headers(&p, "https://app.example.com", out, sizeof out) > 0);
	CHECK(strstr(out, "Vary: Origin\r\n") != NULL);
	CHECK(strstr(out, "Access-Control-Allow-Origin: https://app.example.com\r\n") != NULL);
	CHECK(strstr(out, "Access-Control-Allow-Credentials: true\r\n") != NULL);
	CHECK(strstr(out, "Access-Control-Expose-Headers: ") != NULL);
	/* another origin: only Vary */
	CHECK(cors_reply_headers(&p, "https://evil.example", out, sizeof out) > 0);
	CHECK_STR(out, "Vary: Origin\r\n");
	CHECK_INT(cors_preflight(&p, "https://app.example.com", "PATCH", "GET, PATCH, DELETE", out, sizeof out), 1);
	CHECK(strstr(out, "Access-Control-Allow-Methods: GET, PATCH, DELETE\r\n") != NULL);
	CHECK(strstr(out, "Access-Control-Max-Age: 600\r\n") != NULL);
	CHECK(strstr(out, "Access-Control-Allow-Headers: Authorization, Content-Type") != NULL);
	CHECK_INT(cors_preflight(&p, "https://app.example.com", "PUT", "GET, PATCH, DELETE", out, sizeof out), 0);
	CHECK_INT(cors_preflight(&p, "https://evil.example", "GET", "GET", out, sizeof out), 0);

	/* "*": any origin, never with credentials */
	CHECK_INT(cors_parse("*", 0, 600, &p, err, sizeof err), 0);
	CHECK(cors_reply_headers(&p, "https://anyone.example", out, sizeof out) > 0);
	CHECK(strstr(out, "Access-Control-Allow-Origin: *\r\n") != NULL);
	CHECK(strstr(out, "Allow-Credentials") == NULL);
	CHECK_INT(cors_parse("*", 1, 600, &p, err, sizeof err), -1);
	CHECK(strstr(err, "credentials") != NULL);
	/* malformed origins are refused at start-up */
	CHECK_INT(cors_parse("app.example.com", 0, 600, &p, err, sizeof err), -1);
	CHECK_INT(cors_parse("https://app.example.com/", 0, 600, &p, err, sizeof err), -1);
	CHECK_INT(cors_parse("https://a.example/path", 0, 600, &p, err, sizeof err), -1);
	CHECK_INT(cors_parse("https://*.example", 0, 600, &p, err, sizeof err), -1);
	CHECK_INT(cors_parse("", 0, 600, &p, err, sizeof err), 0);
	CHECK_INT(p.enabled, 0);
}
