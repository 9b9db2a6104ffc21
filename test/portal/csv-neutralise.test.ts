/**
 * The portal's CSV download neutralises spreadsheet formulas (OWASP): a cell beginning with
 * = + - @, tab or CR gets a leading apostrophe; quoting is followed correctly across chunk borders.
 */
import { Readable } from 'node:stream'
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { CsvFormulaNeutraliser } from '../../portal/csv-neutralise.ts'

async function through(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = []
  for await (const chunk of Readable.from(chunks).pipe(new CsvFormulaNeutraliser())) out.push(chunk as Buffer)
  return Buffer.concat(out).toString('utf8')
}

const input =
  'id,name,age\r\n' +
  '1,"=HYPERLINK(""http://x"",""y"")",30\r\n' +
  '2,+1,31\r\n' +
  '3,-2,32\r\n' +
  '4,@SUM(A1),33\r\n' +
  '5,"Smith, ""Jr"" =not a formula",34\r\n' +
  '6,"\tTabbed",35\r\n' +
  '7,"\rCarriage",36\r\n' +
  '8,"""=quoted first",37\r\n' +
  '9,,38\r\n' +
  '10,"",39\r\n' +
  '11,Zoë =fine,40\r\n' +
  '12,"line\r\n=two",41\r\n'

const expected = [
  ['id', 'name', 'age'],
  ['1', '\'=HYPERLINK("http://x","y")', '30'],
  ['2', "'+1", '31'],
  ['3', "'-2", '32'],
  ['4', "'@SUM(A1)", '33'],
  ['5', 'Smith, "Jr" =not a formula', '34'],
  ['6', "'\tTabbed", '35'],
  ['7', "'\rCarriage", '36'],
  ['8', '"=quoted first', '37'],
  ['9', '', '38'],
  ['10', '', '39'],
  ['11', 'Zoë =fine', '40'],
  ['12', 'line\r\n=two', '41'],
]

t.test('formula cells get an apostrophe; everything else is byte for byte the same', async (t) => {
  const output = await through([Buffer.from(input)])
  t.same(parse(output, { relax_column_count: false }), expected)
  t.equal(output.replace(/'(?=[=+\-@\t\r])/g, ''), input, 'only apostrophes were added')
})

t.test('the same result however the stream is cut into chunks', async (t) => {
  const bytes = Buffer.from(input)
  const whole = await through([bytes])
  for (let cut = 1; cut < bytes.length; cut++) {
    const out = await through([bytes.subarray(0, cut), bytes.subarray(cut)])
    if (out !== whole) {
      t.fail(`cut at byte ${cut}`)
      return
    }
  }
  const oneByOne = await through([...bytes].map((b) => Buffer.from([b])))
  t.equal(oneByOne, whole, 'one byte at a time')
})

t.test('numbers in numeric columns are left alone, a header row too', async (t) => {
  const csv = 'id,gender_probability,age\n0190,0.99,0\n'
  t.equal(await through([Buffer.from(csv)]), csv)
})
