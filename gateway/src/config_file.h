/*
 * config_file.h -- reading a --config file: `name = value` lines.
 *
 * The reader knows the file's syntax only (blank lines, `#` comments,
 * `name = value`, line length); what a line means is the caller's
 * (config.c), so the options are parsed by one piece of code wherever
 * they come from.
 */
#ifndef OPENRISK_CONFIG_FILE_H
#define OPENRISK_CONFIG_FILE_H

#include <stddef.h>

/*
 * One `name = value` line, both trimmed; source is "path:line" for
 * messages.  The file is read twice (pass 0, then pass 1), so a caller can
 * apply some names before the others.  0, or -1 with err.
 */
typedef int (*config_line_fn)(void *ctx, const char *name, const char *value, const char *source, int pass,
			      char *err, size_t errlen);

/* Read path, calling fn for each line of each pass.  0, or -1 with err. */
int config_file_read(const char *path, config_line_fn fn, void *ctx, char *err, size_t errlen);

#endif
