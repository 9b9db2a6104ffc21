import { sql, type Kysely } from 'kysely'

/**
 * Exact totals for a probability threshold without counting its rows (docs/performance.md):
 * profile_probability_counts holds, per dimension ('gender' = gender_probability, 'country' =
 * country_probability), per gender and per band of width 0.01, how many profiles there are.
 *
 * - Bands: edge j (j = 1…100) is the double nearest j/100 — what Postgres reads for the literal
 *   '0.29' and what JavaScript computes as 29 / 100 — and a value's band is the number of edges at
 *   or below it (width_bucket over the edges): band 0 is [0, 0.01), band k is [k/100, (k+1)/100),
 *   band 100 holds exactly 1 (probabilities are 0–1 by CHECK). Unlike floor(p * 100), which puts
 *   the double 0.29 in band 28, a two-decimal probability sits on its band's lower edge, so a
 *   threshold that is an edge (0.8, 0.99, 1, 0) is a sum of whole bands, and any other threshold t
 *   in band k is the bands above k plus `count(*) WHERE p >= t AND p < (k+1)/100`, a short range of
 *   the existing (gender_probability, id) or (country_probability, id) index. Exact for every float.
 * - Keyed by gender too, so a gender filter (one value or both) with one threshold is answered the
 *   same way. At most 2 × 2 × 101 rows; 274 on the 1M-row bench data (profile_counts: 5,521).
 *   A joint (gender band × country band) table would also answer both thresholds together, but it
 *   has ~7,800 rows and its upsert cost 19–26 ms per 2,000-row import batch against 3–7 ms for
 *   this one (EXPLAIN ANALYZE trigger times on 200k rows); both thresholds keep the count path.
 * - Maintained like profile_counts: statement-level triggers with transition tables for INSERT,
 *   DELETE and UPDATE (probabilities are not immutable, unlike gender, age and country), and
 *   TRUNCATE. Triggers of one event fire in name order: profile_bands_* come before profile_counts_*,
 *   so every writing statement locks bands, then counts, then the profile_totals row, in one order.
 * - Backfilled here after the triggers exist and the table is locked against writers, so no row is
 *   counted twice or missed.
 */
const EDGES = `{${Array.from({ length: 100 }, (_, i) => String((i + 1) / 100)).join(',')}}`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`LOCK TABLE profiles IN SHARE ROW EXCLUSIVE MODE`.execute(db)
  await sql`
    CREATE FUNCTION profile_probability_band(p double precision) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT width_bucket(p, ${sql.lit(EDGES)}::double precision[])::smallint $$`.execute(db)
  await sql`
    CREATE TABLE profile_probability_counts (
      dimension text NOT NULL CHECK (dimension IN ('gender', 'country')),
      gender text NOT NULL,
      band smallint NOT NULL CHECK (band BETWEEN 0 AND 100),
      n bigint NOT NULL,
      PRIMARY KEY (dimension, gender, band)
    )`.execute(db)
  // Rows of a statement, one per dimension: (dimension, gender, band) with +1 or -1 each.
  const bandsOf = (rows: string, sign: string) => `
    SELECT 'gender' AS dimension, gender, profile_probability_band(gender_probability) AS band, ${sign} AS delta FROM ${rows}
    UNION ALL
    SELECT 'country', gender, profile_probability_band(country_probability), ${sign} FROM ${rows}`
  await sql`
    CREATE FUNCTION profile_bands_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO profile_probability_counts AS c (dimension, gender, band, n)
        SELECT dimension, gender, band, count(*) FROM (${sql.raw(bandsOf('new_rows', '1'))}) b
        GROUP BY dimension, gender, band ORDER BY dimension, gender, band
      ON CONFLICT (dimension, gender, band) DO UPDATE SET n = c.n + excluded.n;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE FUNCTION profile_bands_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE profile_probability_counts AS c SET n = c.n - d.n
      FROM (SELECT dimension, gender, band, count(*) AS n FROM (${sql.raw(bandsOf('old_rows', '1'))}) b
            GROUP BY dimension, gender, band ORDER BY dimension, gender, band) d
      WHERE c.dimension = d.dimension AND c.gender = d.gender AND c.band = d.band;
      RETURN NULL;
    END $$`.execute(db)
  // An UPDATE moves rows between bands: the new rows in, the old rows out, net per band.
  await sql`
    CREATE FUNCTION profile_bands_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO profile_probability_counts AS c (dimension, gender, band, n)
        SELECT dimension, gender, band, sum(delta) FROM (
          ${sql.raw(bandsOf('new_rows', '1'))}
          UNION ALL
          ${sql.raw(bandsOf('old_rows', '-1'))}) b
        GROUP BY dimension, gender, band HAVING sum(delta) <> 0 ORDER BY dimension, gender, band
      ON CONFLICT (dimension, gender, band) DO UPDATE SET n = c.n + excluded.n;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE FUNCTION profile_bands_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM profile_probability_counts;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER profile_bands_insert AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION profile_bands_after_insert()`.execute(db)
  await sql`
    CREATE TRIGGER profile_bands_delete AFTER DELETE ON profiles
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION profile_bands_after_delete()`.execute(db)
  await sql`
    CREATE TRIGGER profile_bands_update AFTER UPDATE ON profiles
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION profile_bands_after_update()`.execute(db)
  await sql`
    CREATE TRIGGER profile_bands_truncate AFTER TRUNCATE ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION profile_bands_after_truncate()`.execute(db)
  await sql`
    INSERT INTO profile_probability_counts (dimension, gender, band, n)
    SELECT dimension, gender, band, count(*) FROM (${sql.raw(bandsOf('profiles', '1'))}) b
    GROUP BY dimension, gender, band`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const event of ['insert', 'delete', 'update', 'truncate']) {
    await sql`DROP TRIGGER IF EXISTS ${sql.raw(`profile_bands_${event}`)} ON profiles`.execute(db)
  }
  await sql`DROP FUNCTION IF EXISTS profile_bands_after_insert, profile_bands_after_delete, profile_bands_after_update,
    profile_bands_after_truncate`.execute(db)
  await sql`DROP TABLE IF EXISTS profile_probability_counts`.execute(db)
  await sql`DROP FUNCTION IF EXISTS profile_probability_band`.execute(db)
}
