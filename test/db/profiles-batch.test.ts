import t from 'tap'
import { idAt, newId } from '../../contract/ids.ts'
import { insertProfilesBatch, listProfiles, type NewProfile } from '../../db/repositories/profiles.ts'
import { createTestDatabase } from '../helpers/database.ts'

const db = await createTestDatabase(t)

function profile(name: string, extra: Partial<NewProfile> = {}): NewProfile {
  return {
    id: newId(),
    name,
    gender: 'male',
    gender_probability: 0.5,
    age: 30,
    age_group: 'adult',
    country_id: 'NG',
    country_name: 'Nigeria',
    country_probability: 0.5,
    ...extra,
  }
}

t.test('array literals: names that mean something to Postgres array syntax arrive as written', async (t) => {
  const names = [
    String.raw`Back\slash`,
    String.raw`Trailing\\`,
    '"Quoted" Name',
    String.raw`Mixed \"both\"`,
    '{Braces}',
    'Comma, Name',
    'NULL',
    '{"a","b"}',
    'Zoë 🚀 Ünal',
    'محمد علي',
    'Tab\tinside',
  ]
  const inserted = await insertProfilesBatch(db.db, names.map((name) => profile(name)))
  t.equal(inserted, names.length)
  const rows = await db.db.selectFrom('profiles').select(['name']).where('name', 'in', names).execute()
  t.same(rows.map((r) => r.name).sort(), [...names].sort(), 'every name stored byte for byte')
})

t.test('numbers and timestamps keep their exact values', async (t) => {
  const created = new Date('2026-01-02T03:04:05.000Z')
  const values = [0, 1, 0.1, 0.123456789012345, 1e-7, 0.999999999999]
  // created_at is the id's timestamp truncated to the second: ids minted at 03:04:05.456.
  const batch = values.map((v, i) =>
    profile(`Precise ${i}`, { id: idAt(created.getTime() + 456 + i), gender_probability: v, country_probability: 1 - v, age: i * 30, age_group: 'adult' }),
  )
  t.equal(await insertProfilesBatch(db.db, batch), batch.length)
  const rows = await db.db
    .selectFrom('profiles')
    .select(['name', 'gender_probability', 'country_probability', 'age', 'created_at'])
    .where('name', 'like', 'Precise %')
    .orderBy('name')
    .execute()
  t.same(rows.map((r) => r.gender_probability), values)
  t.same(rows.map((r) => r.country_probability), values.map((v) => 1 - v))
  t.same(rows.map((r) => r.age), values.map((_, i) => i * 30))
  t.ok(rows.every((r) => r.created_at.getTime() === created.getTime()))
})

t.test('duplicates inside the batch and against the table are skipped and not counted', async (t) => {
  t.equal(await insertProfilesBatch(db.db, [profile('Dup Person'), profile('dup person'), profile('Other Person')]), 2)
  t.equal(await insertProfilesBatch(db.db, [profile('DUP PERSON'), profile('New Person')]), 1)
  t.equal(await insertProfilesBatch(db.db, []), 0, 'an empty batch is a no-op')
})

t.test('a bad row rejects the whole batch: nothing of it is written', async (t) => {
  const before = await db.db.selectFrom('profiles').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  await t.rejects(insertProfilesBatch(db.db, [profile('Fine Row'), profile('Bad Age', { age: 200 })]))
  const after = await db.db.selectFrom('profiles').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(after.n), Number(before.n))
})

t.test('sorting by name is case-insensitive, in both directions', async (t) => {
  await insertProfilesBatch(db.db, ['aardvark Zulu', 'Abel Young', 'ACE Xavier', 'abbey West'].map((n) => profile(n, { country_id: 'KE', country_name: 'Kenya' })))
  const asc = await listProfiles(db.db, { country_id: 'KE' }, { column: 'name', direction: 'asc' }, 10, 0)
  t.same(asc.map((r) => r.name), ['aardvark Zulu', 'abbey West', 'Abel Young', 'ACE Xavier'])
  const desc = await listProfiles(db.db, { country_id: 'KE' }, { column: 'name', direction: 'desc' }, 2, 1)
  t.same(desc.map((r) => r.name), ['Abel Young', 'abbey West'], 'descending, with an offset')
})
