/*
 * auth_jwt.h -- HS256 JSON Web Tokens: verify on every request, mint for
 * development.
 *
 * The gateway trusts exactly one thing about a caller: the claims of a
 * token signed with its secret.  The tenant a request may touch comes from
 * here and nowhere else.  No civetweb or libpq in here, so the verifier
 * can be unit-tested and fuzzed directly.
 */
#ifndef OPENRISK_AUTH_JWT_H
#define OPENRISK_AUTH_JWT_H

#include <stddef.h>
#include <time.h>

enum role {
	ROLE_NONE = 0, /* public routes */
	ROLE_VIEWER = 1,
	ROLE_ANALYST = 2,
	ROLE_ADMIN = 3
};

enum jwt_status {
	JWT_OK = 0,
	JWT_MISSING,   /* no Authorization: Bearer header */
	JWT_MALFORMED, /* not three base64url parts of JSON */
	JWT_BAD_ALG,   /* alg is not HS256 (none, RS256, ...) */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID, /* nbf in the future */
	JWT_BAD_CLAIMS     /* exp, role or tenant_id missing or invalid */
};

#define JWT_MAX_TOKEN 4096
#define UUID_TEXT_LEN 36

struct jwt_claims {
	char sub[128];
	char tenant[UUID_TEXT_LEN + 1]; /* canonical lower-case uuid */
	enum role role;
	long long exp;
	long long nbf; /* 0 when absent */
};

/*
 * Verify a compact-serialized token against the secret at time now.
 * Order matters: the header's alg is checked first (only HS256), the
 * signature second (constant time), and the claims only once the token is
 * known to be ours.
 */
enum jwt_status jwt_verify(const char *secret, size_t secret_len, const char *token, time_t now,
			   struct jwt_claims *out);

/*
 * jwt_verify with a one-entry per-thread memo of the last token that
 * verified: a keep-alive client sends the same token on every request, and
 * re-verifying it (two JSON parses and an HMAC, ~3 us) is pure overhead.
 * The memo is keyed by the complete token text, so it can only ever return
 * what a full verification of those exact bytes returned; exp and nbf are
 * re-checked against now on every hit.
 */
enum jwt_status jwt_verify_cached(const char *secret, size_t secret_len, const char *token, time_t now,
				  struct jwt_claims *out);

/* "Bearer <token>" -> pointer to the token, or NULL. */
const char *jwt_from_authorization(const char *header);

/* Mint a token; returns its length, or -1 when out is too small. */
int jwt_mint(const char *secret, size_t secret_len, const char *sub, enum role role,
	     const char *tenant, long long exp, char *out, size_t outlen);

/* A short human sentence for a status, safe to send to the client. */
const char *jwt_status_message(enum jwt_status st);

const char *role_name(enum role r);
enum role role_parse(const char *name); /* ROLE_NONE when unknown */

/* 1 when text is a uuid in 8-4-4-4-12 hex form (any case). */
int uuid_is_valid(const char *text);

#endif
