/*
 * replica_list.h -- the hot standbys the gateway may read from, as the
 * operator lists them (OPENRISK_REPLICA_DSNS, --replicas, or `replica =`
 * lines of a --config file).
 *
 * Two spellings, because both are what operators have at hand: libpq URIs
 * separated by blanks (what `make -s env` exports: URIs contain no blanks)
 * and key=value connection strings, one per line (they contain blanks).
 * The classic mistake of the second -- two key=value strings on one line,
 * which libpq would silently merge into one, the last host winning -- is
 * refused: a keyword may appear once per entry.  Pure (no libpq), so the
 * parser is unit-tested; libpq's own check of each entry runs at start-up
 * (upstream.c).
 */
#ifndef OPENRISK_REPLICA_LIST_H
#define OPENRISK_REPLICA_LIST_H

#include <stddef.h>

#define REPLICAS_MAX 8
#define REPLICA_DSN_MAX 1024

struct replica_list {
	int n;
	char dsn[REPLICAS_MAX][REPLICA_DSN_MAX];
};

/*
 * Split text into entries: a line starting with postgresql:// or
 * postgres:// holds blank-separated URIs, any other non-blank line is one
 * key=value connection string.  0, or -1 with a sentence in err (entries
 * are named by position, with passwords masked).
 */
int replica_list_parse(const char *text, struct replica_list *out, char *err, size_t errlen);

/* dsn with any password masked ("postgresql://u:***@h/db", "password=***"): for logs. */
void dsn_redact(const char *dsn, char *out, size_t outlen);

#endif
