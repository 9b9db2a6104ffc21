/** Who a user is to the product (contract §5): analysts read, admins also write and manage users. */
export const ROLES = ['admin', 'analyst'] as const
export type Role = (typeof ROLES)[number]
