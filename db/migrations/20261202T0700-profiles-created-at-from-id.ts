import { sql, type Kysely } from 'kysely'

/**
 * `created_at` IS the v7 id's timestamp, truncated to the second, for every row however it is written.
 *
 * - The column becomes a stored generated column computed from the id's first 48 bits (milliseconds
 *   since the epoch): no writer can set it, so the two can never disagree, and the importer sends
 *   one column less. Existing rows get it from their ids when the column is re-added. The ids stay:
 *   they are the public identity (URLs, exports, saved links), created_at is derived data.
 * - Ordering by created_at is then ordering by id (rows of one second are in id order, the contract's
 *   tie-break), so the default sort and sort_by=created_at are served by the primary key and
 *   profiles_created_at_id_idx goes (dropped with the old column): one index less for every insert.
 * - A CHECK keeps ids version 7 with the RFC 9562 variant, which the derivation relies on.
 * - profile_totals: one row with the unfiltered total and a write generation, maintained by the same
 *   statement-level triggers as profile_counts. The unfiltered total is one row instead of a sum
 *   over every (gender, age, country) cell, and `generation` (bumped by every statement that inserts
 *   or deletes profiles, visible at its commit) lets the API cache any total exactly: a total read in
 *   the same snapshot as the generation is valid for as long as the generation is unchanged.
 *   The row is updated last in each trigger, after profile_counts, so writers lock in one order.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE profiles DROP COLUMN created_at`.execute(db)
  await sql`
    ALTER TABLE profiles ADD COLUMN created_at timestamptz NOT NULL
      GENERATED ALWAYS AS (to_timestamp((('x' || translate(left(id::text, 13), '-', ''))::bit(48)::bigint / 1000)::double precision)) STORED`.execute(db)
  await sql`
    ALTER TABLE profiles ADD CONSTRAINT profiles_id_is_uuid_v7
      CHECK (substr(id::text, 15, 1) = '7' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b'))`.execute(db)

  await sql`
    CREATE TABLE profile_totals (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      total bigint NOT NULL,
      generation bigint NOT NULL
    )`.execute(db)
  await sql`INSERT INTO profile_totals (total, generation) SELECT count(*), 0 FROM profiles`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE added bigint;
    BEGIN
      INSERT INTO profile_counts AS c (gender, age, country_id, n)
        SELECT gender, age, country_id, count(*) FROM new_rows
        GROUP BY country_id, gender, age ORDER BY country_id, gender, age
      ON CONFLICT (country_id, gender, age) DO UPDATE SET n = c.n + excluded.n;
      GET DIAGNOSTICS added = ROW_COUNT;
      IF added > 0 THEN
        UPDATE profile_totals SET total = total + (SELECT count(*) FROM new_rows), generation = generation + 1;
      END IF;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE removed bigint;
    BEGIN
      UPDATE profile_counts AS c SET n = c.n - d.n
      FROM (SELECT gender, age, country_id, count(*) AS n FROM old_rows GROUP BY country_id, gender, age
            ORDER BY country_id, gender, age) d
      WHERE c.country_id = d.country_id AND c.gender = d.gender AND c.age = d.age;
      GET DIAGNOSTICS removed = ROW_COUNT;
      IF removed > 0 THEN
        UPDATE profile_totals SET total = total - (SELECT count(*) FROM old_rows), generation = generation + 1;
      END IF;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM profile_counts;
      UPDATE profile_totals SET total = 0, generation = generation + 1;
      RETURN NULL;
    END $$`.execute(db)
  // Profiles are immutable in the product, but an UPDATE by hand must not leave a cached total stale.
  await sql`
    CREATE FUNCTION profile_totals_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE profile_totals SET generation = generation + 1;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER profile_totals_update AFTER UPDATE ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION profile_totals_after_update()`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO profile_counts AS c (gender, age, country_id, n)
        SELECT gender, age, country_id, count(*) FROM new_rows
        GROUP BY country_id, gender, age ORDER BY country_id, gender, age
      ON CONFLICT (country_id, gender, age) DO UPDATE SET n = c.n + excluded.n;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE profile_counts AS c SET n = c.n - d.n
      FROM (SELECT gender, age, country_id, count(*) AS n FROM old_rows GROUP BY country_id, gender, age) d
      WHERE c.country_id = d.country_id AND c.gender = d.gender AND c.age = d.age;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION profile_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM profile_counts;
      RETURN NULL;
    END $$`.execute(db)
  await sql`DROP TRIGGER IF EXISTS profile_totals_update ON profiles`.execute(db)
  await sql`DROP FUNCTION IF EXISTS profile_totals_after_update`.execute(db)
  await sql`DROP TABLE IF EXISTS profile_totals`.execute(db)
  await sql`ALTER TABLE profiles DROP CONSTRAINT IF EXISTS profiles_id_is_uuid_v7`.execute(db)
  await sql`ALTER TABLE profiles ALTER COLUMN created_at DROP EXPRESSION`.execute(db)
  await sql`ALTER TABLE profiles ALTER COLUMN created_at SET DEFAULT date_trunc('second', now())`.execute(db)
  await sql`CREATE INDEX profiles_created_at_id_idx ON profiles (created_at, id)`.execute(db)
}
