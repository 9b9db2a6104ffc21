/** The CLI's User-Agent: what it sends (host name and OS family, nothing else) and how lists read it back. */
import t from 'tap'
import { cliDeviceLabel, cliUserAgent } from '../../contract/cli-user-agent.ts'

t.test('insighta/<version> (<hostname>; <platform>), read back as "insighta <version> on <hostname>"', async (t) => {
  const agent = cliUserAgent('0.1.0', 'build-box.example.com', 'linux')
  t.equal(agent, 'insighta/0.1.0 (build-box.example.com; linux)')
  t.equal(cliDeviceLabel(agent), 'insighta 0.1.0 on build-box.example.com')
  t.equal(cliDeviceLabel(cliUserAgent('0.1.0', 'MacBook-Pro', 'darwin')), 'insighta 0.1.0 on MacBook-Pro')
})

t.test('a host name cannot break the format or carry control characters', async (t) => {
  t.equal(cliUserAgent('0.1.0', 'evil); admin (x\u001b[31m', 'linux'), 'insighta/0.1.0 (evil---admin--x--31m; linux)')
  t.equal(cliUserAgent('0.1.0', '', 'linux'), 'insighta/0.1.0 (unknown-host; linux)')
  t.equal(cliUserAgent('0.1.0', 'h'.repeat(300), 'win32').length, 'insighta/0.1.0 (; win32)'.length + 100)
  t.equal(cliDeviceLabel(cliUserAgent('0.1.0', 'bad host', 'linux')), 'insighta 0.1.0 on bad-host')
})

t.test('other agents are not the CLI', async (t) => {
  for (const agent of [null, undefined, '', 'curl/8.5.0', 'insighta-cli/0.1.0 on old-box', 'insighta/0.1.0 (a; b) extra', 'Mozilla/5.0 insighta/0.1.0 (a; b)']) {
    t.equal(cliDeviceLabel(agent), undefined, String(agent))
  }
})
