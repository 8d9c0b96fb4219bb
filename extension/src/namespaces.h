/*-------------------------------------------------------------------------
 *
 * namespaces.h
 *		The application's cache namespaces and their default TTLs, stated
 *		once.
 *
 * A key's namespace is its first ':'-separated segment ("risk:<tenant>:..."
 * is in "risk").  Each row here gives one namespace and the default TTL in
 * seconds of its keys, used when a cache_put/cache_fetch call passes no TTL.
 * Everything else is derived from this table:
 *   - guc.c defines one reloadable setting openrisk.ttl_<namespace> per row
 *     (plus openrisk.ttl_default for keys in any other namespace) and picks
 *     a key's TTL by its namespace;
 *   - sql/16_keys.sql reads the setting by name (the key builders there are
 *     the only place keys are spelt, each under one of these namespaces;
 *     test/pgtap/34_invalidation_matrix.sql checks that every namespace it
 *     builds keys in has its setting);
 *   - the gateway knows no namespace: the database names them in its
 *     replies and notifications.
 *
 * Adding a namespace is adding a row; its setting appears at the next
 * server start.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OPENRISK_NAMESPACES_H
#define OPENRISK_NAMESPACES_H

/* OR_NAMESPACE(name, default TTL in seconds) */
#define OR_NAMESPACES(OR_NAMESPACE) \
	OR_NAMESPACE(risk, 300) \
	OR_NAMESPACE(dashboard, 600) \
	OR_NAMESPACE(connector, 900) \
	OR_NAMESPACE(app, 1200) \
	OR_NAMESPACE(report, 300)

/* Keys in any other namespace (openrisk.ttl_default). */
#define OR_DEFAULT_TTL 300

#endif							/* OPENRISK_NAMESPACES_H */
