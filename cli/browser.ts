import { spawn } from 'node:child_process'

/** The platform's "open this URL" command; the URL is one argv entry, never parsed by a shell. */
function opener(url: string): { command: string; args: string[] } {
  if (process.platform === 'darwin') return { command: 'open', args: [url] }
  // `start` is a cmd.exe builtin; its first quoted argument is a window title, hence the "".
  if (process.platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url.replaceAll('&', '^&')] }
  return { command: 'xdg-open', args: [url] }
}

/**
 * Best effort: resolves true when the opener started and did not fail at once. Callers print the URL
 * regardless, since a started opener can still end up with no browser (e.g. over SSH).
 */
export function openBrowser(url: string): Promise<boolean> {
  const { command, args } = opener(url)
  return new Promise((resolve) => {
    let child
    try {
      child = spawn(command, args, { stdio: 'ignore', detached: true })
    } catch {
      resolve(false)
      return
    }
    const timer = setTimeout(() => resolve(true), 1000)
    child.once('error', () => {
      clearTimeout(timer)
      resolve(false)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code === 0)
    })
    child.unref()
  })
}
