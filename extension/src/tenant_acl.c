/*-------------------------------------------------------------------------
 *
 * tenant_acl.c
 *		_tenant_arg(tenant uuid): the tenant argument of an endpoint
 *		function, checked against the caller's tenant bindings.
 *
 * Why this exists: the endpoint functions take the tenant as an argument
 * and run as the extension owner (SECURITY DEFINER), so EXECUTE alone
 * lets any member of the API's group roles read or write every tenant.
 * An operator can bind a role to tenants (openrisk.grant_tenant, the
 * table openrisk.tenant_bindings, sql/80_privileges.sql); a caller that
 * is, or has the privileges of, a bound role may then name only those
 * tenants: any other is refused with 42501 before anything is read.
 * Superusers and roles without any binding are not restricted (the
 * gateway's role is unbound: its tenant comes from a verified token).
 *
 * The caller is GetOuterUserId(): the session's role after SET ROLE.
 * Inside a SECURITY DEFINER function current_user is the owner, so the
 * SQL-visible users cannot say who called; the outer user can.  (An
 * intermediate SECURITY DEFINER function of another owner is not the
 * caller here: the session's role is, which is the stricter choice.)
 *
 * This runs on every call, cache hits included, so it is cheap: the
 * caller's bindings are read once per backend and kept until the
 * bindings table, a role membership or a role changes (relcache and
 * syscache invalidation callbacks; the table's statement trigger
 * _tenant_bindings_changed sends the relcache invalidation at commit).
 * A hit then costs a comparison of two Oids and, for a bound caller, a
 * scan of its few tenants.  It also replaces _require(tenant, 'tenant'),
 * a PL/pgSQL call, so the endpoints got cheaper, not dearer.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

static struct
{
	bool		valid;			/* the fields below describe `user` */
	bool		callbacks;		/* invalidation callbacks registered */
	Oid			user;
	Oid			table;			/* openrisk.tenant_bindings */
	bool		bound;			/* user is restricted to `tenants` */
	int			ntenants;
	pg_uuid_t  *tenants;		/* in TopMemoryContext */
}			acl;

static void
acl_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	acl.valid = false;
}

static void
acl_reset_rel(Datum arg, Oid relid)
{
	/* InvalidOid: every relation (the invalidation queue overflowed) */
	if (relid == InvalidOid || relid == acl.table)
		acl.valid = false;
}

/* Read the caller's bindings: every tenant of every bound role it has the
 * privileges of (directly or through membership). */
static void
acl_fill(Oid user)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(user)};
	MemoryContext old;
	uint64		n;

	if (!acl.callbacks)
	{
		CacheRegisterRelcacheCallback(acl_reset_rel, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, acl_reset, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, acl_reset, (Datum) 0);
		acl.callbacks = true;
	}
	acl.valid = false;
	if (acl.tenants)
		pfree(acl.tenants);
	acl.tenants = NULL;
	acl.ntenants = 0;
	acl.bound = false;
	acl.user = user;
	acl.table = get_relname_relid("tenant_bindings", get_namespace_oid("openrisk", false));

	if (!superuser_arg(user))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "openrisk: SPI_connect failed");
		if (SPI_execute_with_args("SELECT DISTINCT b.tenant FROM openrisk.tenant_bindings b"
								  " WHERE pg_catalog.pg_has_role($1, b.role, 'USAGE')",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "openrisk: reading openrisk.tenant_bindings failed");
		n = SPI_processed;
		if (n > 0)
		{
			old = MemoryContextSwitchTo(TopMemoryContext);
			acl.tenants = palloc(sizeof(pg_uuid_t) * n);
			MemoryContextSwitchTo(old);
			for (uint64 i = 0; i < n; i++)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

				memcpy(&acl.tenants[i], DatumGetUUIDP(d), sizeof(pg_uuid_t));
			}
			acl.ntenants = (int) n;
			acl.bound = true;
		}
		SPI_finish();
	}
	acl.valid = true;
}

PG_FUNCTION_INFO_V1(openrisk_tenant_arg);
Datum
openrisk_tenant_arg(PG_FUNCTION_ARGS)
{
	Oid			user = GetOuterUserId();
	pg_uuid_t  *tenant;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tenant is required")));
	tenant = PG_GETARG_UUID_P(0);
	if (!acl.valid || acl.user != user)
		acl_fill(user);
	if (acl.bound)
	{
		for (int i = 0; i < acl.ntenants; i++)
			if (memcmp(&acl.tenants[i], tenant, sizeof(pg_uuid_t)) == 0)
				PG_RETURN_UUID_P(tenant);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" may not access this tenant", GetUserNameFromId(user, false)),
				 errhint("An operator binds roles to tenants with openrisk.grant_tenant(role, tenant).")));
	}
	PG_RETURN_UUID_P(tenant);
}

/* AFTER ... FOR EACH STATEMENT on openrisk.tenant_bindings: every backend
 * re-reads its bindings once this transaction commits (this one's own
 * backend at the end of the statement). */
PG_FUNCTION_INFO_V1(openrisk_tenant_bindings_changed);
Datum
openrisk_tenant_bindings_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "openrisk: _tenant_bindings_changed() must be called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	acl.valid = false;
	return PointerGetDatum(NULL);
}
