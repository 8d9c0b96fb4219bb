/*
 * test_jwt.c -- the verifier accepts exactly the tokens it should: good
 * HS256 tokens; and rejects tampering, other secrets, alg none and other
 * algorithms, expiry, missing or invalid claims, and malformed encodings.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#include "auth_jwt.h"
#include "unit.h"

static const char secret[] = "unit-test-secret-0123456789abcdef";
static const char tenant[] = "00000000-0000-4000-8000-000000000001";

static void b64url(const char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned int acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | (unsigned char)in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = a[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[n++] = a[(acc << (6 - bits)) & 63];
	out[n] = '\0';
}

/* Build header.payload.signature with HMAC-SHA256 under key. */
static void craft(const char *header, const char *payload, const char *key, char *out)
{
	unsigned char mac[32];
	unsigned int maclen;

	b64url(header, strlen(header), out);
	strcat(out, ".");
	b64url(payload, strlen(payload), out + strlen(out));
	HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)out, strlen(out), mac, &maclen);
	strcat(out, ".");
	b64url((char *)mac, maclen, out + strlen(out));
}

static enum jwt_status verify(const char *token)
{
	struct jwt_claims c;
	return jwt_verify(secret, strlen(secret), token, time(NULL), &c);
}

static void round_trip(void)
{
	char tok[2048];
	struct jwt_claims c;
	long long exp = (long long)time(NULL) + 600;

	CHECK(jwt_mint(secret, strlen(secret), "alice", ROLE_ANALYST, tenant, exp, tok, sizeof tok) > 0);
	CHECK_INT(jwt_verify(secret, strlen(secret), tok, time(NULL), &c), JWT_OK);
	CHECK_INT(c.role, ROLE_ANALYST);
	CHECK_STR(c.tenant, tenant);
	CHECK_STR(c.sub, "alice");
	CHECK_INT(c.exp, exp);
	/* another secret, or the same token later than exp */
	CHECK_INT(jwt_verify("other-secret-0123456789", 22, tok, time(NULL), &c), JWT_BAD_SIGNATURE);
	CHECK_INT(jwt_verify(secret, strlen(secret), tok, (time_t)exp, &c), JWT_EXPIRED);
	/* too small an output buffer */
	CHECK_INT(jwt_mint(secret, strlen(secret), "a", ROLE_ADMIN, tenant, exp, tok, 40), -1);
}

static void tampering(void)
{
	char tok[2048], evil[2048];
	char *dot;
	long long exp = (long long)time(NULL) + 600;

	jwt_mint(secret, strlen(secret), "bob", ROLE_VIEWER, tenant, exp, tok, sizeof tok);
	/* swap in a payload claiming admin, keep the signature */
	craft("{\"alg\":\"HS256\"}", "{\"role\":\"admin\"}", secret, evil);
	dot = strrchr(tok, '.');
	strcpy(strrchr(evil, '.'), dot);
	CHECK_INT(verify(evil), JWT_BAD_SIGNATURE);
	/* flip one signature character */
	strcpy(evil, tok);
	evil[strlen(evil) - 2] = evil[strlen(evil) - 2] == 'A' ? 'B' : 'A';
	CHECK_INT(verify(evil), JWT_BAD_SIGNATURE);
	/* truncated signature */
	strcpy(evil, tok);
	evil[strlen(evil) - 5] = '\0';
	CHECK_INT(verify(evil), JWT_BAD_SIGNATURE);
}

static void algorithms(void)
{
	char tok[2048], payload[256];

	snprintf(payload, sizeof payload, "{\"role\":\"admin\",\"tenant_id\":\"%s\",\"exp\":%lld}", tenant,
		 (long long)time(NULL) + 600);
	craft("{\"alg\":\"none\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	/* alg none with an empty signature, the classic form */
	*(strrchr(tok, '.') + 1) = '\0';
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	craft("{\"alg\":\"HS512\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	craft("{\"alg\":\"RS256\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	craft("{\"alg\":\"hs256\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	craft("{\"typ\":\"JWT\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_BAD_ALG);
	craft("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_MALFORMED);
	craft("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_OK);
}

static void claims(void)
{
	char tok[2048], payload[256];
	long long exp = (long long)time(NULL) + 600;
	static const char *const bad[] = {
		"{\"role\":\"admin\",\"tenant_id\":\"%s\"}",                  /* no exp */
		"{\"role\":\"admin\",\"tenant_id\":\"%s\",\"exp\":\"soon\"}", /* exp not a number */
		"{\"role\":\"root\",\"tenant_id\":\"%s\",\"exp\":%lld}",      /* unknown role */
		"{\"tenant_id\":\"%s\",\"exp\":%lld}",                        /* no role */
		"{\"role\":\"admin\",\"tenant_id\":\"%.35s\",\"exp\":%lld}",  /* short uuid */
		"{\"role\":\"admin\",\"tenant_idx\":\"%s\",\"exp\":%lld}",    /* no tenant */
		"{\"role\":[\"admin\"],\"tenant_id\":\"%s\",\"exp\":%lld}",   /* role not a string */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(payload, sizeof payload, bad[i], tenant, exp);
		craft("{\"alg\":\"HS256\"}", payload, secret, tok);
		CHECK_INT(verify(tok), JWT_BAD_CLAIMS);
	}
	snprintf(payload, sizeof payload, "{\"role\":\"viewer\",\"tenant_id\":\"%s\",\"exp\":%lld,\"nbf\":%lld}",
		 tenant, exp, exp - 10);
	craft("{\"alg\":\"HS256\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_NOT_YET_VALID);
	snprintf(payload, sizeof payload, "{\"role\":\"viewer\",\"tenant_id\":\"%s\",\"exp\":%lld}", tenant,
		 (long long)time(NULL) - 1);
	craft("{\"alg\":\"HS256\"}", payload, secret, tok);
	CHECK_INT(verify(tok), JWT_EXPIRED);
	/* upper-case tenant is accepted and normalized */
	{
		struct jwt_claims c;
		snprintf(payload, sizeof payload,
			 "{\"role\":\"viewer\",\"tenant_id\":\"ABCDEF00-0000-4000-8000-00000000000A\",\"exp\":%lld}", exp);
		craft("{\"alg\":\"HS256\"}", payload, secret, tok);
		CHECK_INT(jwt_verify(secret, strlen(secret), tok, time(NULL), &c), JWT_OK);
		CHECK_STR(c.tenant, "abcdef00-0000-4000-8000-00000000000a");
	}
}

static void malformed(void)
{
	static const char *const bad[] = {"abc", "a.b", "a.b.c.d", "..", "!!.??.**", "eyJhbGciOiJIUzI1NiJ9..",
					  "eyJhbGciOiJIUzI1NiJ9.e30"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(verify(bad[i]) != JWT_OK);
	CHECK_INT(verify(""), JWT_MISSING);
	CHECK_INT(verify(NULL), JWT_MISSING);
	/* a JSON array as header */
	{
		char tok[512];
		craft("[1]", "{}", secret, tok);
		CHECK_INT(verify(tok), JWT_MALFORMED);
	}
}

static void bearer_and_memo(void)
{
	char tok[2048];
	struct jwt_claims c;
	long long exp = (long long)time(NULL) + 100;

	CHECK_STR(jwt_from_authorization("Bearer abc"), "abc");
	CHECK_STR(jwt_from_authorization("bearer   abc"), "abc");
	CHECK(jwt_from_authorization("Basic abc") == NULL);
	CHECK(jwt_from_authorization("Bearer ") == NULL);
	CHECK(jwt_from_authorization(NULL) == NULL);

	jwt_mint(secret, strlen(secret), "m", ROLE_ADMIN, tenant, exp, tok, sizeof tok);
	CHECK_INT(jwt_verify_cached(secret, strlen(secret), tok, time(NULL), &c), JWT_OK);
	memset(&c, 0, sizeof c);
	CHECK_INT(jwt_verify_cached(secret, strlen(secret), tok, time(NULL), &c), JWT_OK);
	CHECK_INT(c.role, ROLE_ADMIN); /* the memo returns the claims too */
	/* the memo still enforces exp */
	CHECK_INT(jwt_verify_cached(secret, strlen(secret), tok, (time_t)exp, &c), JWT_EXPIRED);
	/* and a different token is verified in full */
	tok[strlen(tok) - 3] ^= 1;
	CHECK(jwt_verify_cached(secret, strlen(secret), tok, time(NULL), &c) != JWT_OK);
	CHECK(uuid_is_valid(tenant));
	CHECK(!uuid_is_valid("00000000-0000-4000-8000-00000000000g"));
	CHECK(!uuid_is_valid("000000000000-4000-8000-0000000000001"));
	CHECK_INT(role_parse("analyst"), ROLE_ANALYST);
	CHECK_INT(role_parse("Admin"), ROLE_NONE);
}

void test_jwt(void)
{
	round_trip();
	tampering();
	algorithms();
	claims();
	malformed();
	bearer_and_memo();
}
