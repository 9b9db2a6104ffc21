/**
 * Exercises the GitHub and enrichment stand-ins over real HTTP, the way the product will use them.
 */
import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import {
  CODE_TTL_MS,
  DEFAULT_STAND_IN_USERS,
  GITHUB_STAND_IN_CLIENT_ID,
  GITHUB_STAND_IN_CLIENT_SECRET,
  startGitHubStandIn,
  type GitHubStandIn,
} from '../../dev/github-stand-in.ts';
import {
  ENRICHMENT_SERVICES,
  STUB_COUNTRIES,
  enrichmentAnswers,
  startEnrichmentStubs,
  type EnrichmentStubs,
} from '../../dev/enrichment-stand-in.ts';

const REDIRECT_URI = 'http://127.0.0.1:3000/auth/github/callback';

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizeUrl(gh: GitHubStandIn, params: Record<string, string>): string {
  const query = new URLSearchParams({
    client_id: GITHUB_STAND_IN_CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'read:user user:email',
    ...params,
  });
  return `${gh.url}/login/oauth/authorize?${query}`;
}

/** Runs the browser half of the flow and returns the code from the redirect. */
async function codeFor(gh: GitHubStandIn, login: string, params: Record<string, string> = {}): Promise<string> {
  const location = new URL(await gh.approve(authorizeUrl(gh, { state: 'st-1', ...params }), login));
  const code = location.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${location.toString()}`);
  return code;
}

async function exchange(
  gh: GitHubStandIn,
  fields: Record<string, string>,
  accept = 'application/json',
): Promise<Response> {
  return fetch(`${gh.url}/login/oauth/access_token`, {
    method: 'POST',
    headers: { accept, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: GITHUB_STAND_IN_CLIENT_ID,
      client_secret: GITHUB_STAND_IN_CLIENT_SECRET,
      redirect_uri: REDIRECT_URI,
      ...fields,
    }).toString(),
  });
}

async function exchangeJson(gh: GitHubStandIn, fields: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await exchange(gh, fields);
  // GitHub answers token errors with 200 too: the status alone says nothing.
  if (response.status !== 200) throw new Error(`unexpected status ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

t.test('GitHub stand-in', async (t) => {
  let clock = Date.now();
  const gh = await startGitHubStandIn({ now: () => clock });
  t.teardown(() => gh.close());

  t.test('authorize page lists the users and escapes everything reflected', async (t) => {
    const evilState = '"><script>alert(1)</script>';
    const evilRedirect = 'http://127.0.0.1:3000/cb?x="><img src=x onerror=alert(2)>';
    const response = await fetch(authorizeUrl(gh, { state: evilState, redirect_uri: evilRedirect, login: '<b>hint</b>' }));
    t.equal(response.status, 200);
    t.match(response.headers.get('content-type'), /^text\/html/);
    const html = await response.text();
    t.match(html, '<title>GitHub stand-in (development only)</title>');
    for (const user of DEFAULT_STAND_IN_USERS) t.match(html, `value="${user.login}"`);
    t.notMatch(html, '<script>', 'no raw script tag from state');
    t.notMatch(html, '<img', 'no raw img tag from redirect_uri');
    t.notMatch(html, '<b>hint', 'no raw tag from the login hint');
    t.match(html, '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    t.match(html, 'value="&lt;b&gt;hint&lt;/b&gt;"');
  });

  t.test('authorize refuses unknown clients and non-S256 PKCE', async (t) => {
    const unknown = await fetch(authorizeUrl(gh, { client_id: 'someone-else' }));
    t.equal(unknown.status, 404);
    t.match(await unknown.text(), 'GitHub stand-in (development only)');

    const { challenge } = pkcePair();
    const plain = await fetch(authorizeUrl(gh, { code_challenge: challenge, code_challenge_method: 'plain' }));
    t.equal(plain.status, 400);
    await plain.body?.cancel();
    const missingMethod = await fetch(authorizeUrl(gh, { code_challenge: challenge }));
    t.equal(missingMethod.status, 400);
    await missingMethod.body?.cancel();
    await t.rejects(gh.approve(authorizeUrl(gh, { code_challenge: challenge, code_challenge_method: 'plain' }), 'octo-admin'));
  });

  t.test('form submission redirects with code and state, like the page buttons do', async (t) => {
    const response = await fetch(`${gh.url}/login/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: GITHUB_STAND_IN_CLIENT_ID,
        redirect_uri: `${REDIRECT_URI}?keep=1`,
        state: 's t&ate',
        decision: 'approve',
        login: 'octo-admin',
      }).toString(),
      redirect: 'manual',
    });
    t.equal(response.status, 302);
    const location = new URL(response.headers.get('location') ?? '');
    t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
    t.equal(location.searchParams.get('keep'), '1', 'existing query parameters are kept');
    t.equal(location.searchParams.get('state'), 's t&ate');
    t.match(location.searchParams.get('code'), /^[0-9a-f]{20}$/);
  });

  t.test('full PKCE S256 dance: code -> token -> /user -> /user/emails', async (t) => {
    const { verifier, challenge } = pkcePair();
    const location = new URL(
      await gh.approve(authorizeUrl(gh, { state: 'xyz', code_challenge: challenge, code_challenge_method: 'S256' }), 'octo-analyst'),
    );
    t.equal(location.searchParams.get('state'), 'xyz');
    const code = location.searchParams.get('code') ?? '';

    const token = await exchangeJson(gh, { code, code_verifier: verifier });
    t.same(Object.keys(token).sort(), ['access_token', 'scope', 'token_type']);
    t.match(token.access_token, /^gho_[A-Za-z0-9]{36}$/);
    t.equal(token.token_type, 'bearer');
    t.equal(token.scope, 'read:user,user:email');
    const accessToken = String(token.access_token);

    const userResponse = await fetch(`${gh.url}/user`, { headers: { authorization: `Bearer ${accessToken}` } });
    t.equal(userResponse.status, 200);
    t.equal(userResponse.headers.get('x-oauth-scopes'), 'read:user, user:email');
    const user = (await userResponse.json()) as Record<string, unknown>;
    t.match(user, { id: 1002, login: 'octo-analyst', name: 'Octo Analyst', email: null, type: 'User', site_admin: false });
    t.type(user.avatar_url, 'string');
    t.equal(user.html_url, 'https://github.com/octo-analyst');

    // The older "token" scheme is accepted too.
    const emailsResponse = await fetch(`${gh.url}/user/emails`, { headers: { authorization: `token ${accessToken}` } });
    t.equal(emailsResponse.status, 200);
    t.same(await emailsResponse.json(), [
      { email: 'octo-analyst@example.com', primary: true, verified: true, visibility: null },
    ]);

    const avatar = await fetch(String(user.avatar_url));
    t.equal(avatar.status, 200);
    t.match(avatar.headers.get('content-type'), /^image\/svg\+xml/);
    await avatar.body?.cancel();
  });

  t.test('public email shows on /user and as a public address', async (t) => {
    const { access_token } = await exchangeJson(gh, { code: await codeFor(gh, 'octo-admin') });
    const headers = { authorization: `Bearer ${String(access_token)}` };
    const user = (await (await fetch(`${gh.url}/user`, { headers })).json()) as Record<string, unknown>;
    t.equal(user.email, 'octo-admin@example.com');
    t.same(await (await fetch(`${gh.url}/user/emails`, { headers })).json(), [
      { email: 'octo-admin@example.com', primary: true, verified: true, visibility: 'public' },
    ]);
  });

  t.test('wrong PKCE verifier is bad_verification_code and burns the code', async (t) => {
    const { challenge } = pkcePair();
    const code = await codeFor(gh, 'octo-admin', { code_challenge: challenge, code_challenge_method: 'S256' });
    const wrong = await exchangeJson(gh, { code, code_verifier: pkcePair().verifier });
    t.same(wrong, {
      error: 'bad_verification_code',
      error_description: 'The code passed is incorrect or expired.',
      error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code',
    });
    const missing = await exchangeJson(gh, { code: await codeFor(gh, 'octo-admin', { code_challenge: challenge, code_challenge_method: 'S256' }) });
    t.equal(missing.error, 'bad_verification_code', 'a challenged code needs a verifier');
  });

  t.test('codes are single-use', async (t) => {
    const code = await codeFor(gh, 'octo-admin');
    t.type((await exchangeJson(gh, { code })).access_token, 'string');
    t.equal((await exchangeJson(gh, { code })).error, 'bad_verification_code');
    t.equal((await exchangeJson(gh, { code: 'not-a-code' })).error, 'bad_verification_code');
  });

  t.test('codes expire after 10 minutes', async (t) => {
    const code = await codeFor(gh, 'octo-admin');
    clock += CODE_TTL_MS;
    t.equal((await exchangeJson(gh, { code })).error, 'bad_verification_code');
  });

  t.test('wrong client secret is incorrect_client_credentials and leaves the code usable', async (t) => {
    const code = await codeFor(gh, 'octo-admin');
    const wrong = await exchangeJson(gh, { code, client_secret: 'nope' });
    t.equal(wrong.error, 'incorrect_client_credentials');
    t.equal(wrong.error_description, 'The client_id and/or client_secret passed are incorrect.');
    t.type((await exchangeJson(gh, { code })).access_token, 'string');
  });

  t.test('redirect_uri must match the one the code was issued for', async (t) => {
    const code = await codeFor(gh, 'octo-admin');
    t.equal((await exchangeJson(gh, { code, redirect_uri: 'http://127.0.0.1:3000/other' })).error, 'redirect_uri_mismatch');
  });

  t.test('token response is form-encoded unless Accept asks for JSON', async (t) => {
    const form = await exchange(gh, { code: await codeFor(gh, 'octo-admin') }, '*/*');
    t.equal(form.status, 200);
    t.match(form.headers.get('content-type'), /^application\/x-www-form-urlencoded/);
    const params = new URLSearchParams(await form.text());
    t.match(params.get('access_token'), /^gho_/);
    t.equal(params.get('token_type'), 'bearer');
    t.equal(params.get('scope'), 'read:user,user:email');

    const formError = await exchange(gh, { code: 'used-up' }, 'text/plain');
    t.equal(formError.status, 200);
    t.equal(new URLSearchParams(await formError.text()).get('error'), 'bad_verification_code');

    // JSON request bodies are accepted as well.
    const json = await fetch(`${gh.url}/login/oauth/access_token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: GITHUB_STAND_IN_CLIENT_ID,
        client_secret: GITHUB_STAND_IN_CLIENT_SECRET,
        code: await codeFor(gh, 'octo-admin'),
      }),
    });
    t.match(json.headers.get('content-type'), /^application\/json/);
    t.match(await json.json(), { token_type: 'bearer' });
  });

  t.test('injected token-exchange faults are one-shot and in order', async (t) => {
    gh.failNextTokenExchange('error');
    gh.failNextTokenExchange('500');
    gh.failNextTokenExchange('html');
    const code = await codeFor(gh, 'octo-admin');

    const error = await exchange(gh, { code });
    t.equal(error.status, 200);
    t.equal(((await error.json()) as Record<string, unknown>).error, 'bad_verification_code');

    const serverError = await exchange(gh, { code });
    t.equal(serverError.status, 500);
    t.match(serverError.headers.get('content-type'), /^text\/html/);
    await serverError.body?.cancel();

    const html = await exchange(gh, { code });
    t.equal(html.status, 200);
    t.match(html.headers.get('content-type'), /^text\/html/);
    await t.rejects(html.json(), SyntaxError);

    // Faults do not touch the code: it still works afterwards.
    t.type((await exchangeJson(gh, { code })).access_token, 'string');
  });

  t.test('REST API rejects missing, bad and revoked tokens like api.github.com', async (t) => {
    const none = await fetch(`${gh.url}/user`);
    t.equal(none.status, 401);
    t.match(await none.json(), { message: 'Requires authentication', status: '401' });

    const bad = await fetch(`${gh.url}/user`, { headers: { authorization: 'Bearer gho_bogus' } });
    t.equal(bad.status, 401);
    t.same(await bad.json(), { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });

    const { access_token } = await exchangeJson(gh, { code: await codeFor(gh, 'octo-suspended') });
    const headers = { authorization: `Bearer ${String(access_token)}` };
    t.equal((await fetch(`${gh.url}/user`, { headers })).status, 200);
    gh.revokeTokens('octo-suspended');
    const revoked = await fetch(`${gh.url}/user`, { headers });
    t.equal(revoked.status, 401);
    await revoked.body?.cancel();
  });

  t.test('/user/emails needs the user:email scope', async (t) => {
    const code = await codeFor(gh, 'octo-admin', { scope: 'read:user' });
    const { access_token, scope } = await exchangeJson(gh, { code });
    t.equal(scope, 'read:user');
    const response = await fetch(`${gh.url}/user/emails`, { headers: { authorization: `Bearer ${String(access_token)}` } });
    t.equal(response.status, 404);
    await response.body?.cancel();
  });

  t.test('cancel redirects with access_denied', async (t) => {
    const location = new URL(await gh.deny(authorizeUrl(gh, { state: 'abc' })));
    t.equal(location.searchParams.get('error'), 'access_denied');
    t.equal(location.searchParams.get('state'), 'abc');
    t.equal(location.searchParams.get('code'), null);
  });

  t.test('typed logins become users with a deterministic id', async (t) => {
    const other = await startGitHubStandIn({ users: [] });
    t.teardown(() => other.close());
    const idIn = async (server: GitHubStandIn): Promise<unknown> => {
      const { access_token } = await exchangeJson(server, { code: await codeFor(server, 'Brand-New-Dev') });
      const user = (await (await fetch(`${server.url}/user`, { headers: { authorization: `Bearer ${String(access_token)}` } })).json()) as Record<string, unknown>;
      t.equal(user.login, 'Brand-New-Dev');
      t.equal(user.email, null);
      return user.id;
    };
    const id = await idIn(gh);
    t.type(id, 'number');
    t.equal(await idIn(other), id, 'same login, same id, on another server');

    await t.rejects(gh.approve(authorizeUrl(gh, {}), '-bad login-'), /did not redirect \(400\)/);
    gh.addUser({ id: 4242, login: 'added-later', name: 'Added Later', email: null });
    t.match(await (await fetch(authorizeUrl(gh, {}))).text(), 'value="added-later"');
    t.throws(() => gh.addUser({ id: 4242, login: 'someone-else' }), /already belongs/);
  });

  t.test('request log holds method and path only, never secrets', async (t) => {
    t.ok(gh.requests.some((r) => r.method === 'POST' && r.path === '/login/oauth/access_token'));
    t.ok(gh.requests.some((r) => r.method === 'GET' && r.path === '/user/emails'));
    const logged = JSON.stringify(gh.requests);
    t.notMatch(logged, GITHUB_STAND_IN_CLIENT_SECRET);
    t.notMatch(logged, 'gho_');
    t.notMatch(logged, '?');
  });
});

t.test('enrichment stubs', async (t) => {
  const stubs = await startEnrichmentStubs();
  t.teardown(() => stubs.close());
  const get = (service: keyof EnrichmentStubs['urls'], name: string, init?: RequestInit): Promise<Response> =>
    fetch(`${stubs.urls[service]}/?name=${encodeURIComponent(name)}`, init);
  t.beforeEach(() => stubs.reset());

  t.test('ok: real wire formats, deterministic per name', async (t) => {
    const genderize = (await (await get('genderize', 'Ella')).json()) as Record<string, unknown>;
    t.same(Object.keys(genderize), ['count', 'name', 'gender', 'probability']);
    t.equal(genderize.name, 'Ella');
    t.ok(genderize.gender === 'male' || genderize.gender === 'female');
    t.ok(typeof genderize.probability === 'number' && genderize.probability >= 0.5 && genderize.probability < 1);
    t.ok(typeof genderize.count === 'number' && genderize.count > 0);

    const agify = (await (await get('agify', 'Ella')).json()) as Record<string, unknown>;
    t.same(Object.keys(agify), ['count', 'name', 'age']);
    t.ok(typeof agify.age === 'number' && Number.isInteger(agify.age) && agify.age >= 1 && agify.age <= 90);

    const nationalize = (await (await get('nationalize', 'Ella')).json()) as { count: number; name: string; country: { country_id: string; probability: number }[] };
    t.same(Object.keys(nationalize), ['count', 'name', 'country']);
    t.ok(nationalize.country.length >= 1 && nationalize.country.length <= 3);
    for (const c of nationalize.country) {
      t.ok(STUB_COUNTRIES.includes(c.country_id), `${c.country_id} is a known country`);
      t.ok(c.probability > 0 && c.probability < 1);
    }
    const probabilities = nationalize.country.map((c) => c.probability);
    t.same(probabilities, [...probabilities].sort((a, b) => b - a), 'most probable first');

    // Same answers again, for any case, and as the exported helper predicts.
    const expected = enrichmentAnswers('Ella');
    t.same(genderize, expected.genderize);
    t.same(agify, expected.agify);
    t.same(nationalize, expected.nationalize);
    t.same(await (await get('genderize', 'Ella')).json(), genderize);
    t.same({ ...enrichmentAnswers('ELLA').agify, name: 'Ella' }, agify);
    // Base URL without the trailing slash works too.
    t.same(await (await fetch(`${stubs.urls.agify}?name=Ella`)).json(), agify);
  });

  t.test('names spread over genders, ages and countries', async (t) => {
    const names = Array.from({ length: 200 }, (_, i) => `person-${i}`);
    const answers = names.map(enrichmentAnswers);
    t.ok(new Set(answers.map((a) => a.genderize.gender)).size === 2);
    t.ok(new Set(answers.map((a) => a.agify.age)).size > 40);
    t.ok(new Set(answers.map((a) => a.nationalize.country[0].country_id)).size > 15);
    t.ok(answers.every((a) => new Set(a.nationalize.country.map((c) => c.country_id)).size === a.nationalize.country.length));
  });

  t.test('names containing "unknown" get the null forms', async (t) => {
    t.same(await (await get('genderize', 'xunknownx')).json(), { count: 0, name: 'xunknownx', gender: null, probability: 0 });
    t.same(await (await get('agify', 'Unknown Person')).json(), { count: 0, name: 'Unknown Person', age: null });
    t.same(await (await get('nationalize', 'unknown')).json(), { count: 0, name: 'unknown', country: [] });
  });

  t.test('missing name is a 422 like the real services', async (t) => {
    const response = await fetch(`${stubs.urls.genderize}/`);
    t.equal(response.status, 422);
    t.same(await response.json(), { error: "Missing 'name' parameter" });
  });

  t.test("'null' behaviour", async (t) => {
    stubs.setBehaviour('all', 'null');
    t.same(await (await get('genderize', 'Ella')).json(), { count: 0, name: 'Ella', gender: null, probability: 0 });
    t.same(await (await get('agify', 'Ella')).json(), { count: 0, name: 'Ella', age: null });
    t.same(await (await get('nationalize', 'Ella')).json(), { count: 0, name: 'Ella', country: [] });
  });

  t.test("'html', '500', 'empty', 'malformed-json' behaviours", async (t) => {
    stubs.setBehaviour('genderize', 'html');
    const html = await get('genderize', 'Ella');
    t.equal(html.status, 200);
    t.match(html.headers.get('content-type'), /^text\/html/);
    await t.rejects(html.json(), SyntaxError);

    stubs.setBehaviour('agify', '500');
    const failed = await get('agify', 'Ella');
    t.equal(failed.status, 500);
    await failed.body?.cancel();

    stubs.setBehaviour('nationalize', 'empty');
    const empty = await get('nationalize', 'Ella');
    t.equal(empty.status, 200);
    t.match(empty.headers.get('content-type'), /^application\/json/);
    t.equal(await empty.text(), '');

    stubs.setBehaviour('nationalize', 'malformed-json');
    const malformed = await get('nationalize', 'Ella');
    t.equal(malformed.status, 200);
    t.match(malformed.headers.get('content-type'), /^application\/json/);
    await t.rejects(malformed.json(), SyntaxError);

    // Behaviours are sticky and per service: changing one leaves the others as they were.
    stubs.setBehaviour('agify', 'ok');
    const agify = await get('agify', 'Ella');
    t.equal(agify.status, 200);
    await agify.body?.cancel();
    const stillHtml = await get('genderize', 'Ella');
    t.match(stillHtml.headers.get('content-type'), /^text\/html/);
    await stillHtml.body?.cancel();
    stubs.reset();
    const afterReset = await get('genderize', 'Ella');
    t.match(afterReset.headers.get('content-type'), /^application\/json/, 'reset restores ok');
    await afterReset.body?.cancel();
  });

  t.test('setFixed forces an exact payload', async (t) => {
    stubs.setFixed('genderize', { count: 5, name: 'anything', gender: 'female', probability: 0.51 });
    t.same(await (await get('genderize', 'Ella')).json(), { count: 5, name: 'anything', gender: 'female', probability: 0.51 });
    stubs.setBehaviour('genderize', 'ok');
    t.equal(((await (await get('genderize', 'Ella')).json()) as Record<string, unknown>).name, 'Ella');
  });

  t.test('calls are counted per service with the last names', async (t) => {
    await (await get('genderize', 'Ada')).body?.cancel();
    await (await get('genderize', 'Grace')).body?.cancel();
    await (await get('agify', 'Linus')).body?.cancel();
    t.match(stubs.calls.genderize, { count: 2, lastName: 'Grace', names: ['Ada', 'Grace'] });
    t.match(stubs.calls.agify, { count: 1, lastName: 'Linus' });
    t.match(stubs.calls.nationalize, { count: 0, lastName: null, names: [] });
    stubs.reset();
    for (const service of ENRICHMENT_SERVICES) t.equal(stubs.calls[service].count, 0);
  });

  t.test("'hang' never answers but the client can abort", async (t) => {
    stubs.setBehaviour('agify', 'hang');
    const started = Date.now();
    await t.rejects(get('agify', 'Ella', { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' });
    t.ok(Date.now() - started < 2000, 'aborted promptly');
    t.equal(stubs.calls.agify.count, 1, 'the hung request was received');
    t.equal((await get('genderize', 'Ella')).status, 200, 'other services unaffected');
  });
});

t.test('enrichment close() returns within 1 s while a request hangs', async (t) => {
  const stubs = await startEnrichmentStubs();
  stubs.setBehaviour('nationalize', 'hang');
  const pending = fetch(`${stubs.urls.nationalize}/?name=Ella`);
  // Wait until the server has the request, so close() really has a hung connection to deal with.
  while (stubs.calls.nationalize.count === 0) await new Promise((resolve) => setTimeout(resolve, 10));

  const started = Date.now();
  await stubs.close();
  t.ok(Date.now() - started < 1000, `closed in ${Date.now() - started} ms`);
  await t.rejects(pending, TypeError, 'the hung request fails once its connection is destroyed');
});
