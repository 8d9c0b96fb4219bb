/*
 * config_file.c -- the --config file (see config_load_file in config.h).
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

#include "config.h"

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

/* `replica = <DSN>`: one more line of the replica list. */
static int add_replica(struct gw_config *cfg, const char *dsn, const char *source, char *err, size_t errlen)
{
	size_t len = strlen(cfg->replica_dsns);

	if (len + strlen(dsn) + 2 > sizeof cfg->replica_dsns) {
		snprintf(err, errlen, "%s: the replica list is too long", source);
		return -1;
	}
	snprintf(cfg->replica_dsns + len, sizeof cfg->replica_dsns - len, "%s%s", len ? "\n" : "", dsn);
	return 0;
}

/* One non-comment line; pass 0 applies the pool mode only, pass 1 the rest. */
static int apply_line(struct gw_config *cfg, char *line, const char *source, int pass, char *err, size_t errlen)
{
	char *eq = strchr(line, '='), *name, *value, named[1200];

	if (!eq) {
		snprintf(err, errlen, "%s: expected \"name = value\"", source);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if (config_is_pool_mode(name) != (pass == 0))
		return 0;
	if (strcmp(name, "config") == 0) {
		snprintf(err, errlen, "%s: a config file cannot name another one", source);
		return -1;
	}
	if (strcmp(name, "replica") == 0)
		return add_replica(cfg, value, source, err, errlen);
	snprintf(named, sizeof named, "%s: %s", source, name);
	return config_set(cfg, name, value, named, err, errlen);
}

int config_load_file(struct gw_config *cfg, const char *path, char *err, size_t errlen)
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
			if (apply_line(cfg, s, source, pass, err, errlen) < 0) {
				fclose(f);
				return -1;
			}
		}
	}
	fclose(f);
	return 0;
}
