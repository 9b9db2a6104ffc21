/**
 * Local stand-in for GitHub's OAuth App web flow and the two REST endpoints the product reads.
 *
 * GitHub cannot be reached from development machines or CI, so `npm start` and the tests point
 * the product's GitHub base URL here. The stand-in reproduces github.com's observable behaviour,
 * including the awkward parts a real client must handle:
 *  - the token endpoint answers errors with HTTP 200 and an `error` field, not a 4xx;
 *  - it answers form-encoded unless the client sends `Accept: application/json`;
 *  - codes are single-use and expire after 10 minutes; PKCE supports S256 only;
 *  - `/user` may have `email: null` (private address), the address is then only in `/user/emails`.
 *
 * Nothing here is secure or meant to be: it is for development and tests only, and says so on
 * every page it renders.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createStandInApp, listenStandIn } from './stand-in-server.ts';

// ---------------------------------------------------------------------------
// Public types and constants
// ---------------------------------------------------------------------------

export interface StandInUser {
  /** GitHub's numeric user id: the stable identity (logins can be renamed). */
  id: number;
  login: string;
  name?: string | null;
  /** The public profile email shown by `GET /user`; null models a user who keeps it private. */
  email?: string | null;
  /** The primary verified address listed by `GET /user/emails`; defaults to `email`, else GitHub's noreply form. */
  primaryEmail?: string;
  /** Shown on the authorize page beside the login, e.g. the role `npm start` gives this user. */
  note?: string;
}

/** Default client credentials, used when `startGitHubStandIn` is given none. Not secrets: dev only. */
export const GITHUB_STAND_IN_CLIENT_ID = 'Ov23liStandInDevOnly';
export const GITHUB_STAND_IN_CLIENT_SECRET = 'stand-in-dev-secret-0000000000000000000000';

export const DEFAULT_STAND_IN_USERS: readonly Readonly<StandInUser>[] = Object.freeze([
  Object.freeze({ id: 1001, login: 'octo-admin', name: 'Octo Admin', email: 'octo-admin@example.com' }),
  // Private email on purpose: the product must fall back to /user/emails.
  Object.freeze({ id: 1002, login: 'octo-analyst', name: 'Octo Analyst', email: null, primaryEmail: 'octo-analyst@example.com' }),
  Object.freeze({ id: 1003, login: 'octo-suspended', name: 'Octo Suspended', email: 'octo-suspended@example.com' }),
]);

/** Authorization codes expire after 10 minutes on github.com. */
export const CODE_TTL_MS = 10 * 60 * 1000;

/**
 * Fault injected into the next token exchange:
 * - `error`: HTTP 200 with GitHub's `bad_verification_code` error (in the negotiated format);
 * - `500`: HTTP 500 with an HTML error page, as GitHub's edge serves when it is down;
 * - `html`: HTTP 200 with an HTML page instead of a token (e.g. a login/interstitial page).
 */
export type TokenExchangeFault = 'error' | '500' | 'html';

export interface LoggedRequest {
  method: string;
  /** Path only: query strings carry codes, states and verifiers, which must not end up in test logs. */
  path: string;
}

export interface GitHubStandInOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Users known at start; defaults to `DEFAULT_STAND_IN_USERS`. */
  users?: readonly StandInUser[];
  clientId?: string;
  clientSecret?: string;
  logger?: boolean;
  /** Shown on the authorize page beside the field for any other login, e.g. the role it will get. */
  otherLoginsNote?: string;
  /** Clock in ms since the epoch, injectable so tests can expire codes without waiting 10 minutes. */
  now?: () => number;
}

export interface GitHubStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash); serves both the web flow and the REST API. */
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Live log of requests received, oldest first; truncate it with `requests.length = 0`. */
  readonly requests: LoggedRequest[];
  /** Adds a user, or replaces the one with the same login (logins are case-insensitive). */
  addUser(user: StandInUser): void;
  /** Queues a fault for the next token exchange (one fault per call; faults are consumed in order). */
  failNextTokenExchange(kind: TokenExchangeFault): void;
  /**
   * Does what a user clicking "Authorize" as `login` does on the page behind `authorizeUrl`, over
   * real HTTP, and returns the redirect Location (`redirect_uri?code=…&state=…`). Unknown logins
   * are created on the fly, like on the page. Throws if the stand-in refuses the request.
   */
  approve(authorizeUrl: string, login: string): Promise<string>;
  /** Same for "Cancel": returns `redirect_uri?error=access_denied&…&state=…`. */
  deny(authorizeUrl: string): Promise<string>;
  /** Invalidates the tokens issued to `login` (all tokens when omitted), as revoking the app's grant does. */
  revokeTokens(login?: string): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// GitHub's wire-level constants
// ---------------------------------------------------------------------------

const TOKEN_ERROR_DOCS = 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors';

type TokenErrorCode = 'bad_verification_code' | 'incorrect_client_credentials' | 'redirect_uri_mismatch';

const TOKEN_ERRORS: Record<TokenErrorCode, { error_description: string; error_uri: string }> = {
  bad_verification_code: {
    error_description: 'The code passed is incorrect or expired.',
    error_uri: `${TOKEN_ERROR_DOCS}/#bad-verification-code`,
  },
  incorrect_client_credentials: {
    error_description: 'The client_id and/or client_secret passed are incorrect.',
    error_uri: `${TOKEN_ERROR_DOCS}/#incorrect-client-credentials`,
  },
  redirect_uri_mismatch: {
    error_description: 'The redirect_uri MUST match the registered callback URL for this application.',
    error_uri: `${TOKEN_ERROR_DOCS}/#redirect-uri-mismatch2`,
  },
};

const ACCESS_DENIED = {
  error: 'access_denied',
  error_description: 'The user has denied your application access.',
  error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied',
};

const REST_DOCS = 'https://docs.github.com/rest';

/** GitHub logins: 1–39 alphanumerics or single hyphens, not starting or ending with a hyphen. */
const LOGIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** RFC 7636: a code_verifier is 43–128 unreserved characters; an S256 challenge is 43 base64url characters. */
const VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Keeps only string-valued fields: form bodies, JSON bodies and query strings all go through this. */
function stringFields(value: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return fields;
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string') fields[key] = field;
    else if (Array.isArray(field) && typeof field[0] === 'string') fields[key] = field[0];
  }
  return fields;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64').replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** GitHub OAuth tokens: `gho_` followed by 36 alphanumerics. */
function newAccessToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let body = '';
  for (const byte of randomBytes(36)) body += alphabet[byte % alphabet.length];
  return `gho_${body}`;
}

/** GitHub echoes granted scopes comma-separated, whatever separator the authorize request used. */
function normaliseScope(scope: string | undefined): string {
  return (scope ?? '').split(/[\s,]+/).filter(Boolean).join(',');
}

// ---------------------------------------------------------------------------
// Authorization request validation (shared by the page and its form submission)
// ---------------------------------------------------------------------------

interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  scope: string | undefined;
  codeChallenge: string | undefined;
  loginHint: string | undefined;
}

type Checked<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

function checkAuthorizeRequest(params: Record<string, string>, clientId: string): Checked<AuthorizeRequest> {
  if (params.client_id !== clientId) {
    // github.com shows its plain 404 page for an unknown client_id.
    return { ok: false, status: 404, message: 'Not Found: no OAuth application has this client_id.' };
  }
  const redirectUri = params.redirect_uri;
  // Real GitHub falls back to the app's registered callback URL; the stand-in has no registration,
  // so it needs redirect_uri — which the product always sends anyway.
  if (redirectUri === undefined || redirectUri === '') {
    return { ok: false, status: 400, message: 'redirect_uri is required by the stand-in.' };
  }
  let parsed: URL;
  try {
    parsed = new URL(redirectUri);
  } catch {
    return { ok: false, status: 400, message: 'redirect_uri is not an absolute URL.' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, status: 400, message: 'redirect_uri must be an http or https URL.' };
  }
  const challenge = params.code_challenge || undefined;
  if (challenge !== undefined) {
    // GitHub supports S256 only; RFC 7636's default ("plain" when the method is absent) is refused too.
    if (params.code_challenge_method !== 'S256') {
      return { ok: false, status: 400, message: 'code_challenge_method must be S256: GitHub supports no other.' };
    }
    if (!S256_CHALLENGE_PATTERN.test(challenge)) {
      return { ok: false, status: 400, message: 'code_challenge must be 43 base64url characters (an S256 hash).' };
    }
  }
  return {
    ok: true,
    value: {
      clientId,
      redirectUri,
      state: params.state,
      scope: params.scope,
      codeChallenge: challenge,
      loginHint: params.login || undefined,
    },
  };
}

/** The parameters a form (or `approve()`) carries through from the authorize request to its submission. */
function carriedFields(request: AuthorizeRequest): Record<string, string> {
  const fields: Record<string, string> = { client_id: request.clientId, redirect_uri: request.redirectUri };
  if (request.state !== undefined) fields.state = request.state;
  if (request.scope !== undefined) fields.scope = request.scope;
  if (request.codeChallenge !== undefined) {
    fields.code_challenge = request.codeChallenge;
    fields.code_challenge_method = 'S256';
  }
  return fields;
}

// ---------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------

const PAGE_TITLE = 'GitHub stand-in (development only)';

function page(body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(PAGE_TITLE)}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
  .banner { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .75rem; border-radius: 6px; }
  form { margin: 1rem 0; }
  button { font: inherit; padding: .4rem .8rem; margin: .2rem 0; cursor: pointer; }
  .users button { display: block; width: 100%; text-align: left; }
  code { background: #f6f8fa; padding: 0 .2rem; }
  .error { color: #cf222e; }
</style>
</head>
<body>
<h1>${escapeHtml(PAGE_TITLE)}</h1>
<p class="banner">This is <strong>not GitHub</strong>. It is a local stand-in for development and tests; nothing here is secure.</p>
${body}
</body>
</html>`;
}

function hiddenInputs(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
}

function authorizePage(request: AuthorizeRequest, users: readonly StandInUser[], otherLoginsNote: string | undefined, error?: string): string {
  const hidden = hiddenInputs(carriedFields(request));
  const userButtons = users
    .map((u) => {
      const label = u.name ? `${u.login} — ${u.name}` : u.login;
      const note = u.note ? ` <strong class="note">${escapeHtml(u.note)}</strong>` : '';
      return `<button type="submit" name="login" value="${escapeHtml(u.login)}">${escapeHtml(label)}${note} <small>(id ${u.id})</small></button>`;
    })
    .join('\n');
  const scope = normaliseScope(request.scope);
  return page(`
${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<p>Authorize OAuth application <code>${escapeHtml(request.clientId)}</code>${scope ? ` for scopes <code>${escapeHtml(scope)}</code>` : ''}.</p>
<p>You will be sent back to <code>${escapeHtml(request.redirectUri)}</code>.</p>
<h2>Sign in as</h2>
<form method="post" action="/login/oauth/authorize" class="users">
${hidden}
<input type="hidden" name="decision" value="approve">
${userButtons}
</form>
<h2>Or any other login</h2>
${otherLoginsNote ? `<p class="note">${escapeHtml(otherLoginsNote)}</p>` : ''}
<form method="post" action="/login/oauth/authorize">
${hidden}
<input type="hidden" name="decision" value="approve">
<label>GitHub login <input type="text" name="login" required maxlength="39" pattern="[A-Za-z0-9\\-]+" value="${escapeHtml(request.loginHint ?? '')}"></label>
<button type="submit">Authorize</button>
</form>
<form method="post" action="/login/oauth/authorize">
${hidden}
<input type="hidden" name="decision" value="deny">
<button type="submit">Cancel</button>
</form>`);
}

function errorPage(status: number, message: string): string {
  return page(`<h2>${status}</h2>\n<p class="error">${escapeHtml(message)}</p>`);
}

/** A small identicon-ish SVG so the portal has an avatar to show without reaching avatars.githubusercontent.com. */
function avatarSvg(id: number): string {
  const hue = fnv1a(String(id)) % 360;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120"><rect width="120" height="120" fill="hsl(${hue},55%,55%)"/><text x="60" y="72" font-family="sans-serif" font-size="36" text-anchor="middle" fill="#fff">${id % 1000}</text></svg>`;
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  userId: number;
  scope: string;
  codeChallenge: string | undefined;
  expiresAt: number;
}

interface IssuedToken {
  userId: number;
  scope: string;
}

export async function startGitHubStandIn(opts: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const clientId = opts.clientId ?? GITHUB_STAND_IN_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? GITHUB_STAND_IN_CLIENT_SECRET;
  const now = opts.now ?? Date.now;
  const host = opts.host ?? '127.0.0.1';

  /** Keyed by lower-cased login: GitHub logins are case-insensitive. Insertion order = page order. */
  const users = new Map<string, StandInUser>();
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, IssuedToken>();
  const faults: TokenExchangeFault[] = [];
  const requests: LoggedRequest[] = [];
  const startedAt = new Date(now()).toISOString();

  function addUser(user: StandInUser): void {
    if (!LOGIN_PATTERN.test(user.login)) throw new Error(`not a valid GitHub login: ${JSON.stringify(user.login)}`);
    const key = user.login.toLowerCase();
    for (const [otherKey, other] of users) {
      if (other.id === user.id && otherKey !== key) {
        throw new Error(`user id ${user.id} already belongs to ${other.login}`);
      }
    }
    users.set(key, { ...user });
  }
  for (const user of opts.users ?? DEFAULT_STAND_IN_USERS) addUser(user);

  function findUserById(id: number): StandInUser | undefined {
    for (const user of users.values()) if (user.id === id) return user;
    return undefined;
  }

  /** Typed-in logins become users on the fly, with an id derived from the login so it is the same every run. */
  function userFor(login: string): StandInUser {
    const existing = users.get(login.toLowerCase());
    if (existing) return existing;
    let id = 100_000 + (fnv1a(login.toLowerCase()) % 900_000_000);
    while (findUserById(id)) id += 1;
    const user: StandInUser = { id, login, name: null, email: null };
    addUser(user);
    return user;
  }

  const app = createStandInApp(opts.logger);

  // Form bodies (the authorize page's submission, and most OAuth clients' token requests) parsed
  // with URLSearchParams: no extra dependency, and duplicate keys keep the last value.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
  });

  app.addHook('onRequest', async (request) => {
    requests.push({ method: request.method, path: request.url.split('?')[0] });
  });

  async function sendHtml(reply: FastifyReply, status: number, html: string): Promise<void> {
    await reply
      .code(status)
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
      .header('x-frame-options', 'DENY')
      .type('text/html; charset=utf-8')
      .send(html);
  }

  // --- Web flow -------------------------------------------------------------

  app.get('/login/oauth/authorize', async (request, reply) => {
    const checked = checkAuthorizeRequest(stringFields(request.query), clientId);
    if (!checked.ok) return sendHtml(reply, checked.status, errorPage(checked.status, checked.message));
    return sendHtml(reply, 200, authorizePage(checked.value, [...users.values()], opts.otherLoginsNote));
  });

  app.post('/login/oauth/authorize', async (request, reply) => {
    const fields = stringFields(request.body);
    const checked = checkAuthorizeRequest(fields, clientId);
    if (!checked.ok) return sendHtml(reply, checked.status, errorPage(checked.status, checked.message));
    const authorize = checked.value;

    const location = new URL(authorize.redirectUri);
    if (fields.decision === 'deny') {
      for (const [key, value] of Object.entries(ACCESS_DENIED)) location.searchParams.set(key, value);
    } else {
      const login = (fields.login ?? '').trim();
      if (!LOGIN_PATTERN.test(login)) {
        const error = `"${login}" is not a valid GitHub login (letters, digits and single hyphens, at most 39).`;
        return sendHtml(reply, 400, authorizePage(authorize, [...users.values()], opts.otherLoginsNote, error));
      }
      const user = userFor(login);
      const code = randomBytes(10).toString('hex'); // GitHub codes are 20 hex characters
      codes.set(code, {
        clientId: authorize.clientId,
        redirectUri: authorize.redirectUri,
        userId: user.id,
        scope: normaliseScope(authorize.scope),
        codeChallenge: authorize.codeChallenge,
        expiresAt: now() + CODE_TTL_MS,
      });
      location.searchParams.set('code', code);
    }
    // GitHub omits state from the redirect when the client sent none.
    if (authorize.state !== undefined) location.searchParams.set('state', authorize.state);
    return reply.code(302).header('location', location.toString()).send();
  });

  // --- Token exchange ---------------------------------------------------------

  /** GitHub negotiates on Accept: JSON only when asked for; `*` and absent mean form-encoded. */
  async function sendTokenResponse(request: FastifyRequest, reply: FastifyReply, body: Record<string, string>): Promise<void> {
    const accept = request.headers.accept ?? '';
    if (accept.toLowerCase().includes('application/json')) {
      await reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(body));
    } else {
      await reply
        .code(200)
        .type('application/x-www-form-urlencoded; charset=utf-8')
        .send(new URLSearchParams(body).toString());
    }
  }

  // Errors are HTTP 200 on github.com: clients must look at the body, not the status.
  const tokenError = (request: FastifyRequest, reply: FastifyReply, code: TokenErrorCode): Promise<void> =>
    sendTokenResponse(request, reply, { error: code, ...TOKEN_ERRORS[code] });

  app.post('/login/oauth/access_token', async (request, reply) => {
    const fault = faults.shift();
    if (fault === 'error') return tokenError(request, reply, 'bad_verification_code');
    if (fault === '500') return sendHtml(reply, 500, errorPage(500, 'Internal Server Error (injected by the test)'));
    if (fault === 'html') return sendHtml(reply, 200, page('<p>Sign in to GitHub to continue.</p>'));

    // github.com also takes the parameters in the query string; the body wins when both are present.
    const params = { ...stringFields(request.query), ...stringFields(request.body) };
    if (params.client_id !== clientId || params.client_secret !== clientSecret) {
      return tokenError(request, reply, 'incorrect_client_credentials');
    }

    const code = params.code === undefined ? undefined : codes.get(params.code);
    if (code === undefined || code.clientId !== clientId) return tokenError(request, reply, 'bad_verification_code');
    // Burn the code on any attempt with valid client credentials, so a wrong guess at the
    // verifier cannot be retried against the same code.
    codes.delete(params.code);
    if (now() >= code.expiresAt) return tokenError(request, reply, 'bad_verification_code');
    if (params.redirect_uri !== undefined && params.redirect_uri !== code.redirectUri) {
      return tokenError(request, reply, 'redirect_uri_mismatch');
    }
    if (code.codeChallenge !== undefined) {
      const verifier = params.code_verifier ?? '';
      const matches =
        VERIFIER_PATTERN.test(verifier) &&
        base64url(createHash('sha256').update(verifier).digest()) === code.codeChallenge;
      if (!matches) return tokenError(request, reply, 'bad_verification_code');
    }
    // A verifier sent for a code issued without a challenge is ignored, as RFC 7636 servers do.

    const accessToken = newAccessToken();
    tokens.set(accessToken, { userId: code.userId, scope: code.scope });
    return sendTokenResponse(request, reply, { access_token: accessToken, token_type: 'bearer', scope: code.scope });
  });

  // --- REST API -------------------------------------------------------------

  /** Resolves `Authorization: Bearer|token <t>`; answers 401 like api.github.com and returns null when it fails. */
  async function authenticate(request: FastifyRequest, reply: FastifyReply, docs: string): Promise<{ user: StandInUser; token: IssuedToken } | null> {
    const header = request.headers.authorization;
    if (header === undefined) {
      await reply.code(401).send({ message: 'Requires authentication', documentation_url: docs, status: '401' });
      return null;
    }
    const match = /^(?:bearer|token)\s+(\S+)\s*$/i.exec(header);
    const token = match ? tokens.get(match[1]) : undefined;
    const user = token ? findUserById(token.userId) : undefined;
    if (token === undefined || user === undefined) {
      await reply.code(401).send({ message: 'Bad credentials', documentation_url: REST_DOCS, status: '401' });
      return null;
    }
    // api.github.com reports the token's scopes on every authenticated response.
    reply.header('x-oauth-scopes', token.scope.split(',').filter(Boolean).join(', '));
    return { user, token };
  }

  function userJson(user: StandInUser): Record<string, string | number | boolean | null | Record<string, string | number>> {
    const api = `${url}/users/${user.login}`;
    return {
      login: user.login,
      id: user.id,
      node_id: `U_standin${user.id}`,
      avatar_url: `${url}/avatars/u/${user.id}?v=4`,
      gravatar_id: '',
      url: api,
      html_url: `https://github.com/${user.login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: 'User',
      user_view_type: 'private',
      site_admin: false,
      name: user.name ?? null,
      company: null,
      blog: '',
      location: null,
      email: user.email ?? null,
      hireable: null,
      bio: null,
      twitter_username: null,
      notification_email: user.email ?? null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: startedAt,
      updated_at: startedAt,
    };
  }

  app.get('/user', async (request, reply) => {
    const auth = await authenticate(request, reply, `${REST_DOCS}/users/users#get-the-authenticated-user`);
    if (auth === null) return;
    return reply.code(200).send(userJson(auth.user));
  });

  app.get('/user/emails', async (request, reply) => {
    const docs = `${REST_DOCS}/users/emails#list-email-addresses-for-the-authenticated-user`;
    const auth = await authenticate(request, reply, docs);
    if (auth === null) return;
    // Without the user:email scope, api.github.com hides the resource behind a 404.
    const scopes = auth.token.scope.split(',');
    if (!scopes.includes('user:email') && !scopes.includes('user')) {
      return reply.code(404).header('x-accepted-oauth-scopes', 'user, user:email').send({ message: 'Not Found', documentation_url: docs, status: '404' });
    }
    const { user } = auth;
    const primary = user.primaryEmail ?? user.email ?? `${user.id}+${user.login}@users.noreply.github.com`;
    return reply.code(200).send([
      { email: primary, primary: true, verified: true, visibility: user.email ? 'public' : null },
    ]);
  });

  app.get<{ Params: { id: string } }>('/avatars/u/:id', async (request, reply) => {
    const id = Number.parseInt(request.params.id, 10);
    return reply.type('image/svg+xml').send(avatarSvg(Number.isFinite(id) ? id : 0));
  });

  const url = await listenStandIn(app, host, opts.port);

  /** The helpers go through real HTTP so they exercise exactly what a browser would. */
  async function submitAuthorization(authorizeUrl: string, extra: Record<string, string>): Promise<string> {
    const parsed = new URL(authorizeUrl);
    if (parsed.pathname !== '/login/oauth/authorize') {
      throw new Error(`not an authorize URL: ${parsed.pathname}`);
    }
    // Load the page first, as a browser would, so a request the page would refuse fails here too.
    const pageResponse = await fetch(`${url}/login/oauth/authorize${parsed.search}`);
    const pageBody = await pageResponse.text();
    if (pageResponse.status !== 200) {
      throw new Error(`GitHub stand-in refused the authorize request (${pageResponse.status}): ${pageBody.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()}`);
    }
    const checked = checkAuthorizeRequest(stringFields(Object.fromEntries(parsed.searchParams)), clientId);
    if (!checked.ok) throw new Error(checked.message);
    const response = await fetch(`${url}/login/oauth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...carriedFields(checked.value), ...extra }).toString(),
      redirect: 'manual',
    });
    const location = response.headers.get('location');
    if (response.status !== 302 || location === null) {
      throw new Error(`GitHub stand-in did not redirect (${response.status}): ${(await response.text()).slice(0, 300)}`);
    }
    await response.body?.cancel();
    return location;
  }

  return {
    url,
    clientId,
    clientSecret,
    requests,
    addUser,
    failNextTokenExchange(kind) {
      faults.push(kind);
    },
    approve(authorizeUrl, login) {
      return submitAuthorization(authorizeUrl, { decision: 'approve', login });
    },
    deny(authorizeUrl) {
      return submitAuthorization(authorizeUrl, { decision: 'deny' });
    },
    revokeTokens(login) {
      const user = login === undefined ? undefined : users.get(login.toLowerCase());
      for (const [token, issued] of tokens) {
        if (login === undefined || issued.userId === user?.id) tokens.delete(token);
      }
    },
    async close() {
      await app.close();
    },
  };
}
