/**
 * platform/crypto.ts (one sealed format, hashing, constant-time compare, PKCE), and what happens to
 * a portal session sealed in the earlier format: the visitor is signed out cleanly, never a 500.
 */
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { deriveKey, randomToken, s256Challenge, safeEqual, seal, sha256Hex, unseal } from '../../platform/crypto.ts'
import { SecretBox } from '../../portal/secrets.ts'
import { buildFakePortal, cookieHeaderFrom } from './helpers.ts'

t.setTimeout(300_000)

t.test('seal / unseal: one versioned AES-256-GCM format', async (t) => {
  const key = deriveKey('a long high-entropy secret', 'salt', 'purpose v1')
  t.equal(key.length, 32)
  const sealed = seal(key, 'the secret token', 'api-token')
  t.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/, 'v1.<iv>.<ciphertext>.<tag>, cookie-safe')
  t.notMatch(sealed, /secret/)
  t.equal(unseal(key, sealed, 'api-token'), 'the secret token')
  t.equal(unseal(key, sealed, 'flash'), undefined, 'the associated data is bound in')
  t.equal(unseal(deriveKey('another secret', 'salt', 'purpose v1'), sealed, 'api-token'), undefined, 'another key cannot open it')
  const other = deriveKey('old secret', 'salt', 'purpose v1')
  t.equal(unseal([other, key], sealed, 'api-token'), 'the secret token', 'a list of keys: any one opens it (rotation)')
  const parts = sealed.split('.')
  const flipped = parts[2].startsWith('A') ? `B${parts[2].slice(1)}` : `A${parts[2].slice(1)}`
  t.equal(unseal(key, [parts[0], parts[1], flipped, parts[3]].join('.'), 'api-token'), undefined, 'tampering is detected')
  t.equal(unseal(key, `v2.${parts.slice(1).join('.')}`, 'api-token'), undefined, 'an unknown version is refused')
  for (const junk of ['', 'v1', 'v1...', 'not sealed at all', 'v1.\u0000.x.y', 'x'.repeat(10_000)]) t.equal(unseal(key, junk, 'api-token'), undefined, JSON.stringify(junk.slice(0, 12)))
  t.not(seal(key, 'x', 'p'), seal(key, 'x', 'p'), 'a fresh IV each time')
  const iv = Buffer.alloc(12, 1)
  t.equal(seal(key, 'x', 'p', iv), seal(key, 'x', 'p', iv), 'deterministic with an injected IV')
  t.throws(() => seal(Buffer.alloc(16), 'x', 'p'), /32 bytes/)
  t.throws(() => seal(key, 'x', 'p', Buffer.alloc(8)), /12 bytes/)
  t.equal(unseal(key, seal(key, '', 'p'), 'p'), '', 'an empty plaintext round-trips')
  t.equal(unseal(key, seal(key, 'ünïcødé ✓', 'p'), 'p'), 'ünïcødé ✓')
})

t.test('hashing, constant-time compare, PKCE, random tokens', async (t) => {
  t.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.ok(safeEqual('same', 'same'))
  t.notOk(safeEqual('same', 'Same'))
  t.notOk(safeEqual('short', 'short but longer'))
  t.notOk(safeEqual('', 'x'))
  // RFC 7636 appendix B
  t.equal(s256Challenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  t.match(randomToken(), /^[A-Za-z0-9_-]{43}$/, '256 bits')
  t.not(randomToken(), randomToken())
})

/** How the portal sealed tokens before the one format: iv (12) | tag (16) | ciphertext, raw bytes. */
function legacySeal(masterKey: Buffer, purpose: string, plaintext: string): Buffer {
  const key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `insighta-portal:${purpose}`, 32))
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

t.test('the portal box opens only the current format', async (t) => {
  const master = randomBytes(32)
  const box = new SecretBox(master)
  t.equal(box.open('api-token', legacySeal(master, 'api-token', 'old-token')), undefined, 'a value sealed in the earlier format does not open')
  t.equal(box.open('api-token', box.seal('api-token', 'new-token')), 'new-token')
  t.equal(box.openJson('flash', legacySeal(master, 'flash', '{"kind":"info","text":"x"}').toString('base64url')), undefined, 'nor an earlier flash cookie')
})

t.test('a session sealed in the earlier format signs the visitor out cleanly, never a 500', async (t) => {
  const sessionKey = randomBytes(32)
  const portal = await buildFakePortal(t, { sessionKey: sessionKey.toString('hex') })
  const who = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/profiles', who)).statusCode, 200, 'signed in')
  // The same session, as the earlier portal wrote it (a fresh process: no cached row).
  const restarted = await buildFakePortal(t, { db: portal.db, fake: portal.fake, sessionKey: sessionKey.toString('hex'), clock: portal.clock })
  await sql`UPDATE portal_sessions SET access_token_enc = ${legacySeal(sessionKey, 'api-token', 'access-old')}, refresh_token_enc = ${legacySeal(sessionKey, 'api-token', 'refresh-old')} WHERE id = ${who.session.id}`.execute(portal.db.db)
  const calls = portal.fake.calls.length
  for (const url of ['/profiles?gender=female', '/', '/search', '/account']) {
    const res = await restarted.get(url, who)
    t.equal(res.statusCode, 303, `${url}: to the login page`)
    t.match(String(res.headers.location), /^\/login/, url)
  }
  const first = await restarted.get('/profiles?gender=female', who)
  t.equal(first.statusCode, 303)
  t.match(String(first.headers['set-cookie']), /insighta_session=;/, 'the session cookie is cleared')
  const login = await restarted.get(String(first.headers.location), undefined, { cookie: cookieHeaderFrom(first, who) })
  t.equal(login.statusCode, 200, 'the login page, not an error page')
  t.match(login.body, /Sign in to Insighta Labs\+/)
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM portal_sessions WHERE id = ${who.session.id}`.execute(portal.db.db)
  t.equal(rows[0].n, 0, 'the unreadable session is removed')
  t.equal(portal.fake.calls.slice(calls).filter((c) => c.includes('/auth/refresh')).length, 0, 'no undecryptable token is sent to the API')
  const post = await restarted.post('/logout', {}, who)
  t.equal(post.statusCode, 303, 'signing out with such a cookie works too')
})
