/** Who sent a request, as the auth step resolved it (src/auth): what accept, status and ACL read. */
export interface Caller {
  /** 1 integration, 2 admin, 3 customer, 4 guest. */
  userType: number;
  /**
   * The integration's (or CLI token's) id, the admin user's id; 0 for a guest, as Magento's
   * `GuestUserContext`.
   */
  userId: number;
  /** Granted ACL resources, or `'all'`. Empty for a guest. */
  resources: ReadonlySet<string> | 'all';
  /** The token's or integration's name, or the admin's user name, for logs; null for a guest. */
  tokenName: string | null;
}
