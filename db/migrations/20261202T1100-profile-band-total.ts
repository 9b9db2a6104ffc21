import { sql, type Kysely } from 'kysely'

/**
 * The total of one probability threshold from the maintained bands (countProfilesByBands), as one
 * function, so its statements keep one generic plan per session (`SET plan_cache_mode`): as a
 * prepared statement Postgres re-planned it on every execution whose custom plan looked cheaper,
 * and planning took twice as long as running. The setting holds inside the function only. STABLE:
 * the bands, the boundary count and the generation are read in the caller's one snapshot.
 *
 * p_lo NULL: the threshold is band p_band's lower edge, the total is the bands from p_band up.
 * Otherwise the bands above p_band plus the rows with p_lo <= p < p_hi (band p_band's part at or
 * above the threshold), from the probability's (…, id) index.
 */
/**
 * The rows of the threshold's band at or above it, for one probability column: with and without a
 * gender condition as separate statements, so the one without stays an index-only range scan.
 */
function boundaryCount(column: 'gender_probability' | 'country_probability'): string {
  const range = `p.${column} >= p_lo AND p.${column} < p_hi`
  return `
          IF p_genders IS NULL THEN
            v_total := v_total + (SELECT count(*) FROM profiles p WHERE ${range});
          ELSE
            v_total := v_total + (SELECT count(*) FROM profiles p WHERE ${range} AND p.gender = ANY (p_genders));
          END IF;`
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION profile_band_total(p_dimension text, p_band int, p_genders text[], p_lo float8, p_hi float8)
    RETURNS TABLE (total int8, generation int8)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET plan_cache_mode = force_generic_plan
    AS $fn$
    DECLARE
      v_total int8;
    BEGIN
      IF p_dimension NOT IN ('gender', 'country') THEN
        RAISE EXCEPTION 'unknown probability dimension %', p_dimension;
      END IF;
      SELECT coalesce(sum(c.n), 0)::int8 INTO v_total
        FROM profile_probability_counts c
        WHERE c.dimension = p_dimension
          AND (c.band > p_band OR (p_lo IS NULL AND c.band = p_band))
          AND (p_genders IS NULL OR c.gender = ANY (p_genders));
      IF p_lo IS NOT NULL THEN
        IF p_dimension = 'gender' THEN${sql.raw(boundaryCount('gender_probability'))}
        ELSE${sql.raw(boundaryCount('country_probability'))}
        END IF;
      END IF;
      RETURN QUERY SELECT v_total, (SELECT t.generation FROM profile_totals t);
    END
    $fn$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS profile_band_total(text, int, text[], float8, float8)`.execute(db)
}
