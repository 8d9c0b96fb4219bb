/*
 * config_file.c -- the --config file's syntax (config_file.h); config.c
 * says what its lines mean.
 *
 * A deployment with replicas has DSNs that are awkward in one environment
 * variable (key=value strings contain blanks), so the file takes one
 * `replica = <DSN>` line per standby.  Every other line is an option by
 * its flag name, parsed by the same code as the flag (config_set), so a
 * value means the same in all three places.  Precedence is file <
 * environment < flags: the file is the deployment's baseline, the
 * environment and the command line its overrides.  Lines are applied in
 * two passes, the pool mode first, so an explicit pool size in the same
 * file wins over the mode's preset (as with flags).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_file.h"
#include "replica_list.h" /* REPLICA_DSN_MAX: a line holds one DSN */

#define LINE_MAX_LEN (REPLICA_DSN_MAX + 256)

/* Trim blanks at both ends in place. */
static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* One non-comment line: split it and hand it to the caller. */
static int split_line(char *line, const char *source, int pass, config_line_fn fn, void *ctx, char *err,
		      size_t errlen)
{
	char *eq = strchr(line, '=');

	if (!eq) {
		snprintf(err, errlen, "%s: expected \"name = value\"", source);
		return -1;
	}
	*eq = '\0';
	return fn(ctx, trim(line), trim(eq + 1), source, pass, err, errlen);
}

int config_file_read(const char *path, config_line_fn fn, void *ctx, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN], source[1100];
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return -1;
	}
	for (int pass = 0; pass < 2; pass++) {
		int n = 0;

		rewind(f);
		while (fgets(line, sizeof line, f)) {
			char *s;

			n++;
			snprintf(source, sizeof source, "%s:%d", path, n);
			if (!strchr(line, '\n') && !feof(f)) {
				snprintf(err, errlen, "%s: line longer than %d characters", source, LINE_MAX_LEN - 2);
				fclose(f);
				return -1;
			}
			s = trim(line);
			if (*s == '\0' || *s == '#')
				continue;
			if (split_line(s, source, pass, fn, ctx, err, errlen) < 0) {
				fclose(f);
				return -1;
			}
		}
	}
	fclose(f);
	return 0;
}
