/*
 * unit.h -- the smallest test harness that can fail: CHECK macros that
 * count, print the failing expression with file and line, and a runner
 * (test_main.c) that prints "N passed, N failed" like every other suite.
 */
#ifndef OPENRISK_UNIT_H
#define OPENRISK_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_passed, unit_failed;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (cond)                                                               \
			unit_passed++;                                                  \
		else {                                                                  \
			unit_failed++;                                                  \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

#define CHECK_INT(got, want)                                                             \
	do {                                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want);                 \
		if (g_ == w_)                                                            \
			unit_passed++;                                                   \
		else {                                                                   \
			unit_failed++;                                                   \
			fprintf(stderr, "FAIL %s:%d: %s == %lld, want %lld\n", __FILE__, \
				__LINE__, #got, g_, w_);                                 \
		}                                                                        \
	} while (0)

#define CHECK_STR(got, want)                                                                 \
	do {                                                                                 \
		const char *g_ = (got), *w_ = (want);                                        \
		if (g_ && w_ && strcmp(g_, w_) == 0)                                         \
			unit_passed++;                                                       \
		else {                                                                       \
			unit_failed++;                                                       \
			fprintf(stderr, "FAIL %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, \
				__LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");     \
		}                                                                            \
	} while (0)

void test_router(void);
void test_routes(void);
void test_jwt(void);
void test_config(void);
void test_errors(void);
void test_query(void);
void test_metrics(void);
void test_event_parse(void);
void test_cors(void);
void test_list_links(void);
void test_replica(void);

#endif
