/**
 * `insighta profiles import FILE.csv`: a streamed multipart upload (field `file`) with a known
 * length, checked by a real multipart parser (@fastify/multipart, as the API uses), and the
 * contract's answer rendered. The real endpoint (issue 6) is exercised when it exists.
 */
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import multipart from '@fastify/multipart'
import { parse as parseCsv } from 'csv-parse/sync'
import Fastify from 'fastify'
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { V1 } from '../helpers/api.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { expectExit, runCli, tempDir } from './helpers/run-cli.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(300_000)

interface Received {
  headers: Record<string, string | string[] | undefined>
  field: string
  filename: string
  bytes: number
  sha256: string
}

/** A stand-in import endpoint that parses the upload as the API would and reports what it got. */
async function startImportStandIn(t: { teardown(fn: () => unknown): void }) {
  const received: Received[] = []
  const app = Fastify()
  await app.register(multipart, { limits: { fileSize: 1024 * 1024 * 1024 } })
  app.post('/api/profiles/import', async (request, reply) => {
    const file = await request.file()
    if (!file) return reply.code(400).send({ status: 'error', message: 'No file' })
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of file.file) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
    }
    received.push({ headers: request.headers, field: file.fieldname, filename: file.filename, bytes, sha256: hash.digest('hex') })
    return {
      status: 'success',
      total_rows: 3,
      inserted: 1,
      skipped: 2,
      reasons: { duplicate_name: 1, invalid_age: 1, invalid_gender: 0, invalid_country: 0, invalid_probability: 0, missing_fields: 0, malformed_row: 0 },
    }
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return { url, received }
}

const CSV = 'name,gender,age,country_id,gender_probability,country_probability\nAda Lovelace,female,36,GB,0.99,0.8\n'

t.test('uploads the file as multipart field "file", with its length, and prints the summary', async (t) => {
  const standIn = await startImportStandIn(t)
  const home = await tempDir(t)
  const file = path.join(home, 'people list.csv')
  await writeFile(file, CSV)
  const result = await runCli(['profiles', 'import', file], { home, env: { INSIGHTA_TOKEN: 'tok', INSIGHTA_API_URL: standIn.url } })
  expectExit(t, result, 0)
  t.equal(result.stdout, 'Imported people list.csv: 3 rows, 1 inserted, 2 skipped.\n  duplicate_name  1\n  invalid_age     1\n')
  const [got] = standIn.received
  t.equal(got.field, 'file')
  t.equal(got.filename, 'people_list.csv')
  t.equal(got.bytes, Buffer.byteLength(CSV))
  t.equal(got.sha256, createHash('sha256').update(CSV).digest('hex'))
  t.equal(got.headers['x-api-version'], '1')
  t.equal(got.headers.authorization, 'Bearer tok')
  t.match(String(got.headers['content-type']), /^multipart\/form-data; boundary=/)
  t.ok(Number(got.headers['content-length']) > Buffer.byteLength(CSV), 'a Content-Length, not chunked')
  t.equal(got.headers['transfer-encoding'], undefined)

  const json = await runCli(['profiles', 'import', file, '--json'], { home, env: { INSIGHTA_TOKEN: 'tok', INSIGHTA_API_URL: standIn.url } })
  expectExit(t, json, 0)
  t.match(JSON.parse(json.stdout), { status: 'success', total_rows: 3, reasons: { duplicate_name: 1 } })
})

t.test('a large file arrives intact', async (t) => {
  const standIn = await startImportStandIn(t)
  const home = await tempDir(t)
  const file = path.join(home, 'big.csv')
  const row = 'Some Person,male,40,NG,0.9,0.5\n'
  const content = `name,gender,age,country_id,gender_probability,country_probability\n${row.repeat(200_000)}`
  await writeFile(file, content)
  const result = await runCli(['profiles', 'import', file], { home, env: { INSIGHTA_TOKEN: 'tok', INSIGHTA_API_URL: standIn.url } })
  expectExit(t, result, 0)
  t.equal(standIn.received[0].bytes, Buffer.byteLength(content))
  t.equal(standIn.received[0].sha256, createHash('sha256').update(content).digest('hex'))
})

t.test('against the real API', async (t) => {
  const live = await startLiveApi(t)
  const probe = await fetch(`${live.url}/api/profiles/import`, {
    method: 'POST',
    headers: { ...V1, authorization: `Bearer ${await live.token('admin')}` },
  })
  await probe.body?.cancel()
  t.not(probe.status, 404, 'the import endpoint is routed')
  const home = await tempDir(t)
  const file = path.join(home, 'people.csv')
  await writeFile(file, CSV)
  const analyst = await runCli(['profiles', 'import', file], { home, env: { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url } })
  expectExit(t, analyst, ExitCode.permission)
  const admin = await runCli(['profiles', 'import', file, '--json'], { home, env: { INSIGHTA_TOKEN: await live.token('admin'), INSIGHTA_API_URL: live.url } })
  expectExit(t, admin, 0)
  t.match(JSON.parse(admin.stdout), { status: 'success', total_rows: 1, inserted: 1, skipped: 0 })
})

t.test('--rejects saves every skipped row from the real API; the report lists the first ones', async (t) => {
  const live = await startLiveApi(t)
  const home = await tempDir(t)
  const env = { INSIGHTA_TOKEN: await live.token('admin'), INSIGHTA_API_URL: live.url }
  const file = path.join(home, 'mixed.csv')
  const bad = Array.from({ length: 14 }, (_, i) => `Cli Reject ${i},female,old,NG,0.9,0.8`)
  await writeFile(file, `${CSV.split('\n')[0]}\nCli Reject Ok,female,30,NG,0.9,0.8\n=cmd(),male,30,NG,0.9,0.8\n${bad.join('\n')}\nCli "Multi,male,x\n`)
  const out = path.join(home, 'skipped.csv')

  const plain = await runCli(['profiles', 'import', file], { home, env })
  expectExit(t, plain, 0)
  t.match(plain.stdout, /17 rows, 2 inserted, 15 skipped/)
  t.match(plain.stdout, /Skipped rows:\n {2}line 4 {2}invalid_age {2}Cli Reject 0,female,old,NG,0\.9,0\.8\n/)
  t.equal(plain.stdout.match(/^ {2}line \d+ /gm)?.length, 10, 'the first 10 on the terminal')
  t.match(plain.stdout, /… and 5 more: add --rejects FILE to save them all as CSV\./)

  const saved = await runCli(['profiles', 'import', file, '--rejects', out], { home, env })
  expectExit(t, saved, 0)
  t.match(saved.stderr, new RegExp(`Saved 17 skipped rows to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
  const text = await readFile(out, 'utf8')
  const rows = parseCsv(text) as string[][]
  t.same(rows[0], ['line', 'reason', 'raw'])
  t.equal(rows.length, 18, 'every skipped row: all 17 (the second run also skips the rows the first inserted)')
  t.same(rows[1], ['2', 'duplicate_name', 'Cli Reject Ok,female,30,NG,0.9,0.8'])
  t.same(rows[2], ['3', 'duplicate_name', "'=cmd(),male,30,NG,0.9,0.8"], 'formula cells neutralised')
  t.same(rows[17], ['18', 'malformed_row', 'Cli "Multi,male,x'])

  const toStdout = await runCli(['profiles', 'import', file, '--rejects', '-'], { home, env })
  expectExit(t, toStdout, 0)
  t.ok(toStdout.stdout.startsWith('line,reason,raw\r\n'), 'the CSV alone on stdout')
  t.match(toStdout.stderr, /Imported mixed\.csv: 17 rows/, 'the report on stderr')

  const clean = path.join(home, 'clean.csv')
  await writeFile(clean, `${CSV.split('\n')[0]}\nCli Clean One,female,30,NG,0.9,0.8\n`)
  const none = await runCli(['profiles', 'import', clean, '--rejects', out], { home, env })
  expectExit(t, none, 0)
  t.equal(await readFile(out, 'utf8'), 'line,reason,raw\r\n', 'nothing skipped: the header alone, so the file describes this import')

  expectExit(t, await runCli(['profiles', 'import', clean, '--json', '--rejects', '-'], { home, env }), ExitCode.usage)
  expectExit(t, await runCli(['profiles', 'import', clean, '--rejects', clean], { home, env }), ExitCode.usage)
  expectExit(t, await runCli(['profiles', 'import', clean, '--rejects', path.join(home, 'missing', 'x.csv')], { home, env }), ExitCode.usage)
})
