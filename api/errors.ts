/** An error whose status and message are safe to show the client as they are. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
    /** fields added to the envelope beside status and message (e.g. a search's example queries) */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const invalidQuery = () => new ApiError(422, 'Invalid query parameters')
export const missingQuery = () => new ApiError(400, 'Invalid query parameters')
export const profileNotFound = () => new ApiError(404, 'Profile not found')

// The database's failure classes live with the database layer, which the portal shares.
export { isDatabaseUnavailable, isPoolBusy, POOL_WAIT_TIMEOUT } from '../db/errors.ts'
