/*
 * fuzz_jwt.c -- JWT parsing and verification on arbitrary bytes.
 *
 * Two inputs per run:
 *  1. the bytes as an Authorization header and as a bare token: nothing a
 *     fuzzer can produce without the secret may verify;
 *  2. "<header JSON>\0<claims JSON>" signed here with the right secret, so
 *     the claim checks behind the signature are reached too.  Whatever
 *     verifies must have alg exactly "HS256" in its header, a known role,
 *     a canonical lower-case uuid tenant, exp in the future, nbf not in the
 *     future -- and the per-thread memo must agree with a full verification.
 */
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth_jwt.h"
#include "fuzz.h"

static const char secret[] = "fuzzing-secret-0123456789";
static const time_t now = 1800000000;

static size_t b64url(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = 0;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < len ? in[i + 2] : 0);
		out[n++] = abc[v >> 18 & 63];
		out[n++] = abc[v >> 12 & 63];
		if (i + 1 < len)
			out[n++] = abc[v >> 6 & 63];
		if (i + 2 < len)
			out[n++] = abc[v & 63];
	}
	out[n] = '\0';
	return n;
}

static void check_verified(const char *header_json, const struct jwt_claims *c)
{
	json_object *h = json_tokener_parse(header_json), *alg;

	FUZZ_ASSERT(h && json_object_object_get_ex(h, "alg", &alg) && json_object_is_type(alg, json_type_string) &&
		    strcmp(json_object_get_string(alg), "HS256") == 0);
	json_object_put(h);
	FUZZ_ASSERT(c->role >= ROLE_VIEWER && c->role <= ROLE_ADMIN);
	FUZZ_ASSERT(uuid_is_valid(c->tenant) && strlen(c->tenant) == UUID_TEXT_LEN);
	for (const char *p = c->tenant; *p; p++)
		FUZZ_ASSERT(*p < 'A' || *p > 'Z');
	FUZZ_ASSERT(c->exp > now && c->nbf <= now);
	FUZZ_ASSERT(strlen(c->sub) < sizeof c->sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims c, c2;
	char *raw = fuzz_cstr(data, len), *hdr, *claims, *tok;
	const char *bearer;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	size_t n;

	/* 1. unsigned bytes never verify */
	FUZZ_ASSERT(jwt_verify(secret, sizeof secret - 1, raw, now, &c) != JWT_OK);
	bearer = jwt_from_authorization(raw);
	if (bearer) {
		FUZZ_ASSERT(bearer >= raw && bearer <= raw + len);
		FUZZ_ASSERT(jwt_verify_cached(secret, sizeof secret - 1, bearer, now, &c) != JWT_OK);
	}
	free(raw);

	/* 2. a correctly signed token with fuzzed header and claims */
	fuzz_split(data, len, &hdr, &claims);
	tok = malloc(2 * (strlen(hdr) + strlen(claims)) + 128);
	n = b64url((const unsigned char *)hdr, strlen(hdr), tok);
	tok[n++] = '.';
	n += b64url((const unsigned char *)claims, strlen(claims), tok + n);
	HMAC(EVP_sha256(), secret, sizeof secret - 1, (const unsigned char *)tok, n, mac, &maclen);
	tok[n++] = '.';
	b64url(mac, maclen, tok + n);
	if (jwt_verify(secret, sizeof secret - 1, tok, now, &c) == JWT_OK) {
		check_verified(hdr, &c);
		FUZZ_ASSERT(jwt_verify_cached(secret, sizeof secret - 1, tok, now, &c2) == JWT_OK);
		FUZZ_ASSERT(jwt_verify_cached(secret, sizeof secret - 1, tok, now, &c2) == JWT_OK);
		FUZZ_ASSERT(strcmp(c.tenant, c2.tenant) == 0 && c.role == c2.role && c.exp == c2.exp);
		/* and the same token under another secret never verifies */
		FUZZ_ASSERT(jwt_verify("another-secret-0123456789", 25, tok, now, &c2) != JWT_OK);
	} else {
		FUZZ_ASSERT(jwt_verify_cached(secret, sizeof secret - 1, tok, now, &c2) != JWT_OK);
	}
	free(tok);
	free(hdr);
	free(claims);
	return 0;
}
