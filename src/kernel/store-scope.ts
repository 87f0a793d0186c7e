/** The store view an operation was accepted in, with the fallback rules of CONTRACT §6. */
export interface StoreScope {
  /** Store id as Magento stores it: 0 for `all` (admin scope), 1 for the default store view. */
  id: number;
  /** Store code from the URL (`default`, `all`, a custom code) or null when the URL had none. */
  code: string | null;
  /** Whether the URL named a store (`/rest/<code>/...`); the fallback rules depend on it. */
  explicit: boolean;
}
