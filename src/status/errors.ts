/** The status API's errors, from the one catalogue (kept as a name the status modules import). */
import { E } from '../errors/catalogue.ts';

export const STATUS_ERRORS = {
  SORT_DIRECTION_INVALID: E.SORT_DIRECTION_INVALID,
  SEARCH_TOO_COMPLEX: E.SEARCH_TOO_COMPLEX,
} as const;
