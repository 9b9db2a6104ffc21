import t from 'tap'
import { idAt, newId } from '../../contract/ids.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function msOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}

t.test('RFC 9562 version 7, variant 10, the current time in the first 48 bits', async (t) => {
  const before = Date.now()
  const id = newId()
  const after = Date.now()
  t.match(id, UUID_V7)
  t.ok(msOf(id) >= before && msOf(id) <= after, 'timestamp is now')
  t.equal(msOf(newId(Date.UTC(2030, 0, 1))), Date.UTC(2030, 0, 1), 'a later clock moves the timestamp')
})

t.test('strictly increasing and unique, within a millisecond and across many', async (t) => {
  const ids: string[] = []
  for (let i = 0; i < 200_000; i++) ids.push(newId())
  let ordered = true
  for (let i = 1; i < ids.length; i++) if (!(ids[i - 1] < ids[i])) ordered = false
  t.ok(ordered, 'each id sorts after the one before (as text and as uuid)')
  t.equal(new Set(ids).size, ids.length)
  t.ok(ids.every((id) => UUID_V7.test(id)))
  const sameMs = Array.from({ length: 1000 }, () => newId(Date.UTC(2031, 0, 1)))
  t.ok(sameMs.every((id, i) => i === 0 || sameMs[i - 1] < id), 'a thousand ids in one millisecond still increase')
})

t.test('a clock that goes backwards never makes an id go backwards', async (t) => {
  const late = newId(Date.UTC(2032, 0, 1))
  const early = newId(Date.UTC(2020, 0, 1))
  t.ok(early > late)
  t.equal(msOf(early), Date.UTC(2032, 0, 1), 'keeps the latest timestamp seen')
})

t.test('the random part varies', async (t) => {
  const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(-10)))
  t.ok(tails.size > 990)
})

t.test('idAt: a v7 id carrying exactly the given millisecond, whatever came before', async (t) => {
  newId(Date.UTC(2040, 0, 1)) // the monotonic generator is now far ahead
  const at = Date.UTC(2026, 0, 2, 3, 4, 5, 999)
  const a = idAt(at)
  const b = idAt(at)
  t.match(a, UUID_V7)
  t.equal(msOf(a), at)
  t.not(a, b, 'two ids of one millisecond differ')
})
