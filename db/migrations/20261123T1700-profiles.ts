import { sql, type Kysely } from 'kysely'

// Migrations never import application code: the table is described here as it was on this day.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE profiles (
      id uuid PRIMARY KEY,
      name text NOT NULL CHECK (name <> '' AND name = btrim(name) AND length(name) <= 200),
      gender text NOT NULL CHECK (gender IN ('male', 'female')),
      gender_probability double precision NOT NULL CHECK (gender_probability BETWEEN 0 AND 1),
      age integer NOT NULL CHECK (age BETWEEN 0 AND 150),
      age_group text NOT NULL CHECK (age_group IN ('child', 'teenager', 'adult', 'senior')),
      country_id char(2) NOT NULL CHECK (country_id ~ '^[A-Z]{2}$'),
      country_name text NOT NULL,
      country_probability double precision NOT NULL CHECK (country_probability BETWEEN 0 AND 1),
      created_at timestamptz NOT NULL DEFAULT date_trunc('second', now())
    )`.execute(db)
  // Names are unique case-insensitively; stored trimmed (the CHECK above), so lower(name) suffices.
  await sql`CREATE UNIQUE INDEX profiles_name_lower_key ON profiles (lower(name))`.execute(db)
  // One index per sort order, each ending in id: the contract breaks ties by id, and a page is then
  // an index range scan with the filters checked on the way (see the query plans in docs/performance.md).
  await sql`CREATE INDEX profiles_created_at_id_idx ON profiles (created_at, id)`.execute(db)
  await sql`CREATE INDEX profiles_age_id_idx ON profiles (age, id)`.execute(db)
  await sql`CREATE INDEX profiles_gender_probability_id_idx ON profiles (gender_probability, id)`.execute(db)
  await sql`CREATE INDEX profiles_country_probability_id_idx ON profiles (country_probability, id)`.execute(db)
  await sql`CREATE INDEX profiles_name_id_idx ON profiles (name, id)`.execute(db)
  // Age is the one sort column correlated with country (each country has its own age profile), so an
  // age-ordered scan filtered by country can walk tens of thousands of rows before it fills a page:
  // with the country first, the same page is a range scan (95 ms → < 1 ms on 1M rows).
  await sql`CREATE INDEX profiles_country_age_id_idx ON profiles (country_id, age, id)`.execute(db)
  // Country is the selective filter analysts use most. With gender and age as keys and the two
  // probabilities included, a total that filters on a probability is an index-only scan.
  await sql`CREATE INDEX profiles_country_gender_age_idx ON profiles (country_id, gender, age)
    INCLUDE (gender_probability, country_probability)`.execute(db)

  // Exact totals at scale: a maintained count per (gender, age, country) answers every total and
  // every stats breakdown that does not filter on a probability, by summing at most a few thousand
  // rows instead of counting up to millions. Statement-level triggers keep it exact inside the
  // writing transaction, so a batch of thousands of rows costs one grouped upsert.
  await sql`
    CREATE TABLE profile_counts (
      gender text NOT NULL,
      age integer NOT NULL,
      country_id char(2) NOT NULL,
      n bigint NOT NULL,
      PRIMARY KEY (country_id, gender, age)
    )`.execute(db)
  await sql`
    CREATE FUNCTION profile_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO profile_counts AS c (gender, age, country_id, n)
        SELECT gender, age, country_id, count(*) FROM new_rows
        GROUP BY country_id, gender, age ORDER BY country_id, gender, age
      ON CONFLICT (country_id, gender, age) DO UPDATE SET n = c.n + excluded.n;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE FUNCTION profile_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE profile_counts AS c SET n = c.n - d.n
      FROM (SELECT gender, age, country_id, count(*) AS n FROM old_rows GROUP BY country_id, gender, age) d
      WHERE c.country_id = d.country_id AND c.gender = d.gender AND c.age = d.age;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER profile_counts_insert AFTER INSERT ON profiles
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION profile_counts_after_insert()`.execute(db)
  await sql`
    CREATE TRIGGER profile_counts_delete AFTER DELETE ON profiles
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION profile_counts_after_delete()`.execute(db)
  // Profiles are immutable in this product (no update route); forbid updates of counted columns so
  // the counts can never drift silently.
  await sql`
    CREATE FUNCTION profiles_forbid_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'profiles.gender, age and country_id are immutable';
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER profiles_counted_columns_immutable BEFORE UPDATE OF gender, age, country_id ON profiles
    FOR EACH ROW WHEN (OLD.gender IS DISTINCT FROM NEW.gender OR OLD.age IS DISTINCT FROM NEW.age
      OR OLD.country_id IS DISTINCT FROM NEW.country_id)
    EXECUTE FUNCTION profiles_forbid_counted_update()`.execute(db)
  // TRUNCATE bypasses row triggers: keep the counts in step.
  await sql`
    CREATE FUNCTION profile_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM profile_counts;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER profile_counts_truncate AFTER TRUNCATE ON profiles
    FOR EACH STATEMENT EXECUTE FUNCTION profile_counts_after_truncate()`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS profile_counts`.execute(db)
  await sql`DROP TABLE IF EXISTS profiles`.execute(db)
  await sql`DROP FUNCTION IF EXISTS profile_counts_after_insert, profile_counts_after_delete,
    profiles_forbid_counted_update, profile_counts_after_truncate`.execute(db)
}
