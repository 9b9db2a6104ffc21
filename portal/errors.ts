/** An error page the visitor may see as it is: 400, 403, 404, 413, 429… */
export class PageError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
    this.name = 'PageError'
  }
}

export const notFound = (what = 'page') => new PageError(404, `We could not find that ${what}.`)
export const forbidden = (message = 'You do not have permission to do that.') => new PageError(403, message)
export const csrfRejected = () =>
  new PageError(403, 'This form has expired or was sent from another site. Go back, reload the page and try again.')

/** The API session behind a portal session is gone (revoked, expired, user suspended): sign in again. */
export class SessionExpiredError extends Error {
  constructor(readonly reason: 'expired' | 'suspended' | 'required' = 'expired') {
    super(
      reason === 'suspended'
        ? 'Your account has been suspended. Contact an administrator.'
        : reason === 'required'
          ? 'Please sign in to continue.'
          : 'Your session has ended. Please sign in again.',
    )
    this.name = 'SessionExpiredError'
  }
}
