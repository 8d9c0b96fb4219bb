/*
 * lsn.c -- LSN text (see lsn.h).
 *
 * Strict on purpose: a header that is almost an LSN ("0/1G", " 0/1",
 * "0x1/2", a 9-digit half) is a client bug that must be a 400, not a
 * position silently read as something else -- a too-low position would
 * let a read skip the wait its client asked for.
 */
#include "lsn.h"

#include <stdio.h>

/* Up to 8 hex digits from *p into *half; the number of digits read. */
static int hex_half(const char **p, uint32_t *half)
{
	int n = 0;

	*half = 0;
	for (;; n++) {
		char c = (*p)[n];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			break;
		if (n == 8)
			return -1;
		*half = *half << 4 | (uint32_t)v;
	}
	*p += n;
	return n;
}

int lsn_parse(const char *text, uint64_t *out)
{
	const char *p = text;
	uint32_t hi, lo;

	if (!p || hex_half(&p, &hi) <= 0 || *p++ != '/' || hex_half(&p, &lo) <= 0 || *p != '\0')
		return -1;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

void lsn_format(uint64_t lsn, char *out, size_t outlen)
{
	snprintf(out, outlen, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}
