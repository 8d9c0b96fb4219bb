/*
 * auth_jwt.c -- HS256 JWT verification and minting with OpenSSL's HMAC.
 *
 * No hand-written cryptography: the MAC is OpenSSL's HMAC-SHA256 and the
 * comparison is CRYPTO_memcmp (constant time, so the signature cannot be
 * guessed byte by byte from response timing).  What is written here is
 * only the JOSE envelope: base64url and the claim checks.
 *
 * Rejected on purpose: any alg other than HS256 ("none" and RS256/HS384
 * algorithm-confusion tricks alike), tokens without exp, roles outside
 * admin/analyst/viewer, tenant_id that is not a uuid.
 */
#include "auth_jwt.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decode unpadded base64url; returns the length or -1 on any bad input. */
static int b64url_decode(const char *in, size_t inlen, unsigned char *out, size_t outcap)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t n = 0;

	if (inlen % 4 == 1)
		return -1;
	for (size_t i = 0; i < inlen; i++) {
		const char *p = in[i] ? strchr(b64url_alphabet, in[i]) : NULL;
		if (!p)
			return -1;
		acc = (acc << 6) | (unsigned int)(p - b64url_alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* leftover bits must be zero, or two encodings would decode alike */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)n;
}

static size_t b64url_encode(const unsigned char *in, size_t inlen, char *out)
{
	size_t n = 0;
	unsigned int acc = 0;
	int bits = 0;

	for (size_t i = 0; i < inlen; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = b64url_alphabet[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[n++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return n;
}

static int hs256(const char *secret, size_t secret_len, const char *data, size_t len,
		 unsigned char mac[32])
{
	unsigned int maclen = 0;

	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)data, len, mac,
		  &maclen) ||
	    maclen != 32)
		return -1;
	return 0;
}

int uuid_is_valid(const char *text)
{
	static const int dash_at[] = {8, 13, 18, 23};
	int d = 0;

	if (!text || strlen(text) != UUID_TEXT_LEN)
		return 0;
	for (int i = 0; i < UUID_TEXT_LEN; i++) {
		if (d < 4 && i == dash_at[d]) {
			if (text[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)text[i]))
			return 0;
	}
	return 1;
}

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_VIEWER:
		return "viewer";
	case ROLE_ANALYST:
		return "analyst";
	case ROLE_ADMIN:
		return "admin";
	default:
		return "none";
	}
}

enum role role_parse(const char *name)
{
	if (!name)
		return ROLE_NONE;
	if (strcmp(name, "viewer") == 0)
		return ROLE_VIEWER;
	if (strcmp(name, "analyst") == 0)
		return ROLE_ANALYST;
	if (strcmp(name, "admin") == 0)
		return ROLE_ADMIN;
	return ROLE_NONE;
}

const char *jwt_from_authorization(const char *header)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	header += 7;
	while (*header == ' ')
		header++;
	return *header ? header : NULL;
}

/* Decode one base64url part into a parsed JSON object (NULL when not one). */
static json_object *decode_json_part(const char *part, size_t len)
{
	unsigned char buf[JWT_MAX_TOKEN];
	json_object *obj;
	json_tokener *tok;
	int n = b64url_decode(part, len, buf, sizeof buf - 1);

	if (n <= 0)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, (const char *)buf, n);
	if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/*
 * exp / nbf: a JSON number (integer or not) in seconds.  json-c accepts
 * 1e999, NaN and Infinity as doubles, and converting a double outside the
 * range of long long is undefined behaviour (found by fuzz_jwt): such a
 * claim is invalid, not "some time".
 */
static int numeric_claim(json_object *payload, const char *name, long long *out)
{
	json_object *v;
	double d;

	if (!json_object_object_get_ex(payload, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return -1;
	d = json_object_get_double(v);
	if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
		return -1;
	*out = (long long)d;
	return 1;
}

static enum jwt_status check_header(const char *part, size_t len)
{
	json_object *header = decode_json_part(part, len), *alg, *typ, *crit;
	enum jwt_status st = JWT_OK;

	if (!header)
		return JWT_MALFORMED;
	if (!json_object_object_get_ex(header, "alg", &alg) || !json_object_is_type(alg, json_type_string) ||
	    strcmp(json_object_get_string(alg), "HS256") != 0)
		st = JWT_BAD_ALG;
	else if (json_object_object_get_ex(header, "typ", &typ) &&
		 (!json_object_is_type(typ, json_type_string) ||
		  strcasecmp(json_object_get_string(typ), "JWT") != 0))
		st = JWT_MALFORMED;
	else if (json_object_object_get_ex(header, "crit", &crit))
		st = JWT_MALFORMED; /* we implement no extensions */
	json_object_put(header);
	return st;
}

static enum jwt_status check_claims(json_object *payload, time_t now, struct jwt_claims *out)
{
	json_object *v;
	long long nbf;
	int have;
	const char *tenant;

	memset(out, 0, sizeof *out);
	have = numeric_claim(payload, "exp", &out->exp);
	if (have <= 0)
		return JWT_BAD_CLAIMS;
	if (out->exp <= (long long)now)
		return JWT_EXPIRED;
	have = numeric_claim(payload, "nbf", &nbf);
	if (have < 0)
		return JWT_BAD_CLAIMS;
	out->nbf = have > 0 ? nbf : 0;
	if (have > 0 && nbf > (long long)now)
		return JWT_NOT_YET_VALID;
	if (!json_object_object_get_ex(payload, "role", &v) || !json_object_is_type(v, json_type_string))
		return JWT_BAD_CLAIMS;
	out->role = role_parse(json_object_get_string(v));
	if (out->role == ROLE_NONE)
		return JWT_BAD_CLAIMS;
	if (!json_object_object_get_ex(payload, "tenant_id", &v) || !json_object_is_type(v, json_type_string))
		return JWT_BAD_CLAIMS;
	tenant = json_object_get_string(v);
	if (!uuid_is_valid(tenant))
		return JWT_BAD_CLAIMS;
	for (int i = 0; i < UUID_TEXT_LEN; i++)
		out->tenant[i] = (char)tolower((unsigned char)tenant[i]);
	if (json_object_object_get_ex(payload, "sub", &v) && json_object_is_type(v, json_type_string))
		snprintf(out->sub, sizeof out->sub, "%s", json_object_get_string(v));
	return JWT_OK;
}

enum jwt_status jwt_verify(const char *secret, size_t secret_len, const char *token, time_t now,
			   struct jwt_claims *out)
{
	const char *dot1, *dot2;
	unsigned char mac[32], sig[64];
	json_object *payload;
	enum jwt_status st;
	size_t len;
	int siglen;

	if (!token || !*token)
		return JWT_MISSING;
	len = strlen(token);
	if (len > JWT_MAX_TOKEN || secret_len == 0)
		return JWT_MALFORMED;
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (!dot1 || !dot2 || strchr(dot2 + 1, '.'))
		return JWT_MALFORMED;
	st = check_header(token, (size_t)(dot1 - token));
	if (st != JWT_OK)
		return st;
	siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof sig);
	if (siglen != 32)
		return JWT_BAD_SIGNATURE;
	if (hs256(secret, secret_len, token, (size_t)(dot2 - token), mac) < 0 ||
	    CRYPTO_memcmp(mac, sig, 32) != 0)
		return JWT_BAD_SIGNATURE;
	payload = decode_json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!payload)
		return JWT_MALFORMED;
	st = check_claims(payload, now, out);
	json_object_put(payload);
	return st;
}

#define MEMO_TOKEN_MAX 1024

enum jwt_status jwt_verify_cached(const char *secret, size_t secret_len, const char *token, time_t now,
				  struct jwt_claims *out)
{
	static __thread char memo_token[MEMO_TOKEN_MAX];
	static __thread struct jwt_claims memo_claims;
	static __thread long long memo_nbf;
	enum jwt_status st;
	size_t len;

	if (token && memo_token[0] && strcmp(token, memo_token) == 0) {
		if (memo_claims.exp <= (long long)now)
			return JWT_EXPIRED;
		if (memo_nbf > (long long)now)
			return JWT_NOT_YET_VALID;
		*out = memo_claims;
		return JWT_OK;
	}
	st = jwt_verify(secret, secret_len, token, now, out);
	len = token ? strlen(token) : 0;
	if (st == JWT_OK && len < MEMO_TOKEN_MAX) {
		memcpy(memo_token, token, len + 1);
		memo_claims = *out;
		memo_nbf = out->nbf;
	}
	return st;
}

int jwt_mint(const char *secret, size_t secret_len, const char *sub, enum role role,
	     const char *tenant, long long exp, char *out, size_t outlen)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char payload[512], signing[1400];
	unsigned char mac[32];
	json_object *claims;
	const char *json;
	size_t n;

	claims = json_object_new_object();
	json_object_object_add(claims, "sub", json_object_new_string(sub ? sub : "dev"));
	json_object_object_add(claims, "tenant_id", json_object_new_string(tenant));
	json_object_object_add(claims, "role", json_object_new_string(role_name(role)));
	json_object_object_add(claims, "exp", json_object_new_int64(exp));
	json = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN);
	if (strlen(json) >= sizeof payload) {
		json_object_put(claims);
		return -1;
	}
	strcpy(payload, json);
	json_object_put(claims);

	n = b64url_encode((const unsigned char *)header, strlen(header), signing);
	signing[n++] = '.';
	n += b64url_encode((const unsigned char *)payload, strlen(payload), signing + n);
	if (hs256(secret, secret_len, signing, n, mac) < 0)
		return -1;
	if (n + 1 + 44 >= outlen)
		return -1;
	memcpy(out, signing, n);
	out[n++] = '.';
	n += b64url_encode(mac, sizeof mac, out + n);
	return (int)n;
}

const char *jwt_status_message(enum jwt_status st)
{
	switch (st) {
	case JWT_OK:
		return "ok";
	case JWT_MISSING:
		return "missing bearer token (send Authorization: Bearer <jwt>)";
	case JWT_MALFORMED:
		return "malformed token";
	case JWT_BAD_ALG:
		return "token algorithm must be HS256";
	case JWT_BAD_SIGNATURE:
		return "invalid token signature";
	case JWT_EXPIRED:
		return "token expired";
	case JWT_NOT_YET_VALID:
		return "token not valid yet";
	case JWT_BAD_CLAIMS:
		return "token needs exp, a role (admin, analyst or viewer) and a uuid tenant_id";
	}
	return "invalid token";
}
