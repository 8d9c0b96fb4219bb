/*
 * fuzz.h -- what every libFuzzer target of the gateway shares.
 *
 * The targets feed attacker-controlled bytes to the gateway's pure parsing
 * code exactly as the server does (NUL-terminated C strings cut out of the
 * request).  Invariants are checked with FUZZ_ASSERT, which aborts: to
 * libFuzzer an abort is a crash with a reproducer, so a violated property
 * is as loud as a buffer overflow found by ASan.
 */
#ifndef OPENRISK_FUZZ_H
#define OPENRISK_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond)                                                                              \
	do {                                                                                           \
		if (!(cond)) {                                                                         \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                       \
		}                                                                                      \
	} while (0)

/* A heap copy of data[0..len) with a NUL after it (ASan sees overreads). */
static inline char *fuzz_cstr(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* Split data at the first NUL byte into two strings (b empty when none). */
static inline void fuzz_split(const uint8_t *data, size_t len, char **a, char **b)
{
	const uint8_t *z = memchr(data, 0, len);
	size_t alen = z ? (size_t)(z - data) : len;

	*a = fuzz_cstr(data, alen);
	*b = z ? fuzz_cstr(z + 1, len - alen - 1) : fuzz_cstr(data, 0);
}

/*
 * 1 when s is what log_escape may produce: printable ASCII without a raw
 * quote, where every backslash starts a \xNN escape.
 */
static inline int fuzz_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x7f || c == '"')
			return 0;
		if (c == '\\') {
			if (s[1] != 'x' || !s[2] || !s[3])
				return 0;
			s += 3;
		}
	}
	return 1;
}
#endif
