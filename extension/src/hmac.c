/*-------------------------------------------------------------------------
 *
 * hmac.c
 *		_hmac_sha256(key bytea, message text) returns bytea.
 *
 * Why this exists: list cursors handed to API clients (sql/40_risk_list.sql)
 * must be tamper-evident -- a client must not be able to forge a position
 * in another tenant's list or another sort.  PostgreSQL core has sha256()
 * but no HMAC at the SQL level (that is pgcrypto, an extra dependency);
 * the server's own src/common HMAC implementation is one call away.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hmac.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(openrisk_hmac_sha256);
Datum
openrisk_hmac_sha256(PG_FUNCTION_ARGS)
{
	bytea	   *key = PG_GETARG_BYTEA_PP(0);
	text	   *msg = PG_GETARG_TEXT_PP(1);
	bytea	   *out = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg)) < 0 ||
		pg_hmac_final(ctx, (uint8 *) VARDATA(out), PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "openrisk: HMAC-SHA256 failed: %s", why);
	}
	pg_hmac_free(ctx);
	SET_VARSIZE(out, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	PG_RETURN_BYTEA_P(out);
}
