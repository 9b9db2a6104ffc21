/** The pure parts of the device login, token and saved-search commands: no process, no network. */
import t from 'tap'
import { expiryDays } from '../../cli/commands/tokens.ts'
import { understoodAs } from '../../cli/commands/search-explained.ts'
import { headlessReason } from '../../cli/environment.ts'

t.test('headlessReason: SSH first, then no display on Linux; macOS and Windows always have a desktop', async (t) => {
  t.equal(headlessReason({ SSH_CONNECTION: '1 2 3 4', DISPLAY: ':0' }, 'linux'), 'this is an SSH session')
  t.equal(headlessReason({ SSH_TTY: '/dev/pts/1' }, 'darwin'), 'this is an SSH session')
  t.match(headlessReason({}, 'linux'), /no display/)
  t.match(headlessReason({ DISPLAY: '  ' }, 'freebsd'), /no display/, 'blank is unset')
  t.equal(headlessReason({ DISPLAY: ':0' }, 'linux'), undefined)
  t.equal(headlessReason({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), undefined)
  t.equal(headlessReason({}, 'darwin'), undefined)
  t.equal(headlessReason({}, 'win32'), undefined)
})

t.test('expiryDays: days or weeks, whole, 1 or more', async (t) => {
  t.equal(expiryDays('30d'), 30)
  t.equal(expiryDays('30'), 30)
  t.equal(expiryDays(' 7 days '), 7)
  t.equal(expiryDays('2w'), 14)
  for (const bad of ['0', '0d', '-1d', '1.5d', 'd', '', '30h', '99999999d', '1e3']) t.throws(() => expiryDays(bad), /--expires/, bad)
})

t.test('understoodAs: one line in reading order, ignored words quoted, control characters removed', async (t) => {
  t.equal(
    understoodAs({ filter: { country_id: 'NG', gender: 'male', max_age: 24, min_age: 16 }, ignored_words: ['please'] }),
    'understood as: gender=male min_age=16 max_age=24 country_id=NG (ignored: "please")',
  )
  t.equal(understoodAs({ filter: { country_id: ['NG', 'GH'] }, ignored_words: [] }), 'understood as: country_id=NG,GH')
  t.equal(understoodAs({ filter: {}, ignored_words: [] }), 'understood as: (no filter)')
  t.equal(understoodAs({ filter: { gender: 'male\u001b[31m' } }), 'understood as: gender=male [31m')
  t.equal(understoodAs(undefined), undefined)
  t.equal(understoodAs({ filter: 'gender=male' }), undefined)
})
