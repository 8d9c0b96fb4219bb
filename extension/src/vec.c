/*-------------------------------------------------------------------------
 *
 * vec.c
 *		Fixed-length bigint vectors: build one sparsely, add two, sum many.
 *
 * Why this exists: the application's aggregates (sql/25_aggregates.sql)
 * keep, per tenant and time bucket, one bigint[] whose elements are
 * counters (risks per severity x status, per matrix cell, score sums ...).
 * A dashboard is then the element-wise sum of a few dozen such vectors,
 * and a write appends the difference of two.  Doing that element by
 * element in SQL (unnest, GROUP BY ordinal, array_agg) costs a row per
 * element; here it is one pass over contiguous int64s.
 *
 * A vector is a one-dimensional bigint[] without NULL elements, lower
 * bound 1.  Vectors combined by one call must have the same length: a
 * mismatch means two layouts were mixed, which is a bug, so it raises
 * instead of padding.  Sums are checked for int64 overflow.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

/* Longest vector accepted: far above any layout, far below palloc's limit. */
#define VEC_MAX_LEN 4096

/* Elements of a vector argument, checked: 1-D, no NULLs. */
static int64 *
vec_elements(ArrayType *a, int *len)
{
	if (ARR_NDIM(a) == 0)
	{
		*len = 0;
		return NULL;
	}
	if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ARR_ELEMTYPE(a) != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a vector must be a one-dimensional bigint[] without NULL elements")));
	*len = ARR_DIMS(a)[0];
	return (int64 *) ARR_DATA_PTR(a);
}

static ArrayType *
vec_make(const int64 *values, int len)
{
	ArrayType  *a;
	int			dims[1] = {len};
	int			lbs[1] = {1};
	Size		nbytes = ARR_OVERHEAD_NONULLS(1) + sizeof(int64) * len;

	if (len == 0)
		return construct_empty_array(INT8OID);
	a = (ArrayType *) palloc0(nbytes);
	SET_VARSIZE(a, nbytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = INT8OID;
	memcpy(ARR_DIMS(a), dims, sizeof(dims));
	memcpy(ARR_LBOUND(a), lbs, sizeof(lbs));
	memcpy(ARR_DATA_PTR(a), values, sizeof(int64) * len);
	return a;
}

static void
vec_add_into(int64 *acc, const int64 *v, int len)
{
	int			i;

	for (i = 0; i < len; i++)
		if (pg_add_s64_overflow(acc[i], v[i], &acc[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("vector element %d is out of range for bigint", i + 1)));
}

static void
check_same_length(int a, int b)
{
	if (a != b)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("vectors of different lengths (%d and %d) cannot be combined", a, b)));
}

/*
 * _vec(n, positions int[], values bigint[]): a vector of n zeros with
 * values[k] added at positions[k] (1-based; a position may repeat).
 */
PG_FUNCTION_INFO_V1(openrisk_vec);
Datum
openrisk_vec(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	ArrayType  *pos_a = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *val_a = PG_GETARG_ARRAYTYPE_P(2);
	Datum	   *pos;
	bool	   *pos_nulls;
	int			npos;
	int			nval;
	int64	   *val;
	int64	   *out;
	int			k;

	if (n < 0 || n > VEC_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("vector length must be between 0 and %d (got %d)", VEC_MAX_LEN, n)));
	deconstruct_array(pos_a, INT4OID, sizeof(int32), true, TYPALIGN_INT, &pos, &pos_nulls, &npos);
	val = vec_elements(val_a, &nval);
	check_same_length(npos, nval);
	out = palloc0(sizeof(int64) * Max(n, 1));
	for (k = 0; k < npos; k++)
	{
		int32		p = pos_nulls[k] ? 0 : DatumGetInt32(pos[k]);

		if (p < 1 || p > n)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("vector position %d is outside 1..%d", p, n)));
		if (pg_add_s64_overflow(out[p - 1], val[k], &out[p - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("vector element %d is out of range for bigint", p)));
	}
	PG_RETURN_ARRAYTYPE_P(vec_make(out, n));
}

/* _vec_add(a, b): element-wise a + b. */
PG_FUNCTION_INFO_V1(openrisk_vec_add);
Datum
openrisk_vec_add(PG_FUNCTION_ARGS)
{
	int			la,
				lb;
	int64	   *a = vec_elements(PG_GETARG_ARRAYTYPE_P(0), &la);
	int64	   *b = vec_elements(PG_GETARG_ARRAYTYPE_P(1), &lb);
	int64	   *out;

	check_same_length(la, lb);
	out = palloc(sizeof(int64) * Max(la, 1));
	if (la > 0)
		memcpy(out, a, sizeof(int64) * la);
	vec_add_into(out, b, lb);
	PG_RETURN_ARRAYTYPE_P(vec_make(out, la));
}

/* _vec_scale(v, k): element-wise k * v. */
PG_FUNCTION_INFO_V1(openrisk_vec_scale);
Datum
openrisk_vec_scale(PG_FUNCTION_ARGS)
{
	int			len;
	int64	   *v = vec_elements(PG_GETARG_ARRAYTYPE_P(0), &len);
	int64		k = PG_GETARG_INT64(1);
	int64	   *out = palloc(sizeof(int64) * Max(len, 1));
	int			i;

	for (i = 0; i < len; i++)
		if (pg_mul_s64_overflow(v[i], k, &out[i]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("vector element %d is out of range for bigint", i + 1)));
	PG_RETURN_ARRAYTYPE_P(vec_make(out, len));
}

/* _vec_nonzero(v, lo, hi): is any of v[lo..hi] (clipped to v) not zero? */
PG_FUNCTION_INFO_V1(openrisk_vec_nonzero);
Datum
openrisk_vec_nonzero(PG_FUNCTION_ARGS)
{
	int			len;
	int64	   *v = vec_elements(PG_GETARG_ARRAYTYPE_P(0), &len);
	int32		lo = Max(PG_GETARG_INT32(1), 1);
	int32		hi = Min(PG_GETARG_INT32(2), len);
	int			i;

	for (i = lo; i <= hi; i++)
		if (v[i - 1] != 0)
			PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(false);
}

/*
 * The aggregate _vec_sum(bigint[]): transition state is a palloc'd
 * accumulator in the aggregate's memory context (an "internal" state, so
 * no array is rebuilt per row).  NULL inputs are skipped; no input gives
 * NULL, as sum() does.
 */
typedef struct VecSumState
{
	int			len;
	int64		acc[FLEXIBLE_ARRAY_MEMBER];
} VecSumState;

PG_FUNCTION_INFO_V1(openrisk_vec_sum_accum);
Datum
openrisk_vec_sum_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	VecSumState *state = PG_ARGISNULL(0) ? NULL : (VecSumState *) PG_GETARG_POINTER(0);
	int			len;
	int64	   *v;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "openrisk: _vec_sum_accum called outside an aggregate");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(state);
	v = vec_elements(PG_GETARG_ARRAYTYPE_P(1), &len);
	if (state == NULL)
	{
		state = MemoryContextAllocZero(aggcxt, offsetof(VecSumState, acc) + sizeof(int64) * Max(len, 1));
		state->len = len;
	}
	check_same_length(state->len, len);
	vec_add_into(state->acc, v, len);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(openrisk_vec_sum_final);
Datum
openrisk_vec_sum_final(PG_FUNCTION_ARGS)
{
	VecSumState *state = PG_ARGISNULL(0) ? NULL : (VecSumState *) PG_GETARG_POINTER(0);

	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(vec_make(state->acc, state->len));
}
