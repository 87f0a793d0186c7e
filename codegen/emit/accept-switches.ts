/**
 * The query switches every async and bulk operation takes, as the async and bulk schema documents
 * describe them (docs/validate-only.md); shared by the OpenAPI 3 and Swagger 2.0 emitters.
 */
export const ACCEPT_SWITCHES = [
  {
    name: 'partialAccept',
    description:
      'true: accept the valid items and reject the invalid ones (202, errors true) instead of refusing the whole request with 400.',
  },
  {
    name: 'validateOnly',
    description:
      "true: check the request without storing or queueing anything. It goes through everything accept does (authentication, ACL, store, limits, decoding, validation, data_hash), then the plugins' own checks of the operation, and answers 200 with the items accept would answer (accepted with their data_hash, or rejected with the reason), without bulk_uuid. An Idempotency-Key is not used up.",
  },
] as const;
