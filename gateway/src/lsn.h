/*
 * lsn.h -- PostgreSQL WAL positions (LSNs) as the gateway's headers carry
 * them: "X/Y", two hexadecimal halves of a 64-bit position, exactly as
 * pg_lsn prints them.
 *
 * X-Commit-LSN (on write replies) and X-Min-LSN (on reads) are client
 * input and output, so the text form is parsed strictly here, once, and
 * compared as 64-bit integers everywhere else.  No libpq: unit-tested.
 */
#ifndef OPENRISK_LSN_H
#define OPENRISK_LSN_H

#include <stddef.h>
#include <stdint.h>

/* Longest "X/Y" text, with its NUL. */
#define LSN_TEXT_MAX 18

/*
 * Parse "X/Y" (1-8 hex digits each, nothing else) into *out; 0, or -1
 * when the text is not an LSN.
 */
int lsn_parse(const char *text, uint64_t *out);

/* Print lsn as pg_lsn does ("16/B374D848") into out (>= LSN_TEXT_MAX bytes). */
void lsn_format(uint64_t lsn, char *out, size_t outlen);

#endif
