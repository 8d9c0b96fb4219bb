/*
 * cache_scope.c -- tenant confinement of invalidation patterns.
 *
 * The check is structural, not a blacklist: the pattern must start with a
 * literal "<ns>:<kind>:<caller tenant>" and only what follows may be a
 * glob.  Any key the engine could match therefore begins with the caller's
 * tenant-scoped prefix.  Connector keys are global (not tenant-scoped) and
 * so are never invalidated from here: the triggers own them.
 */
#include "cache_scope.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "auth_jwt.h"

static const char *const tenant_namespaces[] = {"risk", "dashboard", "app", "report", NULL};

#define PATTERN_MAX 400

static int is_word(const char *s, size_t len)
{
	if (len == 0 || len > 32)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int cache_scope_check(const char *pattern, const char *tenant, char *out, size_t outlen, char *err,
		      size_t errlen)
{
	const char *ns_end, *kind_end, *rest;
	char seg_tenant[UUID_TEXT_LEN + 1];
	size_t len, ns_len;
	int known = 0;

	if (!pattern || !*pattern) {
		snprintf(err, errlen, "pattern is required");
		return -1;
	}
	len = strlen(pattern);
	if (len > PATTERN_MAX || len >= outlen) {
		snprintf(err, errlen, "pattern is too long (at most %d characters)", PATTERN_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pattern[i] < 0x20 || pattern[i] == 0x7f) {
			snprintf(err, errlen, "pattern must not contain control characters");
			return -1;
		}
	ns_end = strchr(pattern, ':');
	kind_end = ns_end ? strchr(ns_end + 1, ':') : NULL;
	if (!ns_end || !kind_end)
		goto shape;
	ns_len = (size_t)(ns_end - pattern);
	for (const char *const *ns = tenant_namespaces; *ns; ns++)
		if (strlen(*ns) == ns_len && memcmp(*ns, pattern, ns_len) == 0)
			known = 1;
	if (!known) {
		snprintf(err, errlen,
			 "pattern must start with a tenant-scoped namespace: risk, dashboard, app or report");
		return -1;
	}
	if (!is_word(ns_end + 1, (size_t)(kind_end - ns_end - 1)))
		goto shape;
	rest = kind_end + 1;
	if (strlen(rest) < UUID_TEXT_LEN || (rest[UUID_TEXT_LEN] != '\0' && rest[UUID_TEXT_LEN] != ':'))
		goto shape;
	memcpy(seg_tenant, rest, UUID_TEXT_LEN);
	seg_tenant[UUID_TEXT_LEN] = '\0';
	if (!uuid_is_valid(seg_tenant))
		goto shape;
	for (int i = 0; i < UUID_TEXT_LEN; i++)
		seg_tenant[i] = (char)tolower((unsigned char)seg_tenant[i]);
	if (strcmp(seg_tenant, tenant) != 0) {
		snprintf(err, errlen, "pattern may only name your own tenant's keys");
		return -1;
	}
	memcpy(out, pattern, len + 1);
	memcpy(out + (rest - pattern), seg_tenant, UUID_TEXT_LEN);
	return 0;

shape:
	snprintf(err, errlen, "pattern must look like <namespace>:<kind>:<your tenant>[:<rest>], e.g. risk:list:%s:*",
		 tenant);
	return -1;
}
