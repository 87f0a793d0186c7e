/**
 * The one catalogue of coded errors (Fastify's lesson): every error a client can see is declared
 * here with its HTTP status and Magento's message template, so wording lives in one place and tests
 * can table-drive over it. Messages are Magento's own where Magento has one (source notes §3.4, §10).
 */

export interface ErrorDefinition {
  /** Our stable code, for logs and docs (`MA_ROUTE_NOT_FOUND`). */
  code: string;
  status: number;
  /** Magento's template: `%name` placeholders take `parameters` by name, `%1` by position. */
  template: string;
  /**
   * Magento renders `Webapi\Exception`s (405, 500, …) as final text with no `parameters`, while
   * `LocalizedException`s keep the raw template and send the values as `parameters`.
   */
  rendered?: boolean;
}

function def(code: string, status: number, template: string, rendered = false): ErrorDefinition {
  return { code, status, template, rendered };
}

export const E = {
  // Routing (CONTRACT §1)
  NOT_PROCESSABLE: def('MA_NOT_PROCESSABLE', 400, 'Specified request cannot be processed.'),
  METHOD_NOT_SUPPORTED: def('MA_METHOD_NOT_SUPPORTED', 405, 'The %1 HTTP method is not supported.', true),
  ROUTE_NOT_FOUND: def('MA_ROUTE_NOT_FOUND', 404, 'Request does not match any route.'),
  // Authorization (CONTRACT §7)
  UNAUTHORIZED: def('MA_UNAUTHORIZED', 401, "The consumer isn't authorized to access %resources."),
  // OAuth 1.0a (docs/authentication.md). Magento's messages and statuses: its OauthInputException
  // is a 400, its Oauth\Exception a 401 (Magento\Framework\Oauth\Oauth, Integration\Model\Oauth).
  INPUT_EXCEPTIONS: def('MA_INPUT_EXCEPTIONS', 400, 'One or more input exceptions have occurred.'),
  OAUTH_VERSION_UNSUPPORTED: def('MA_OAUTH_VERSION_UNSUPPORTED', 400, 'The "%1" Oauth version isn\'t supported.'),
  OAUTH_TOKEN_LENGTH: def('MA_OAUTH_TOKEN_LENGTH', 400, 'The token length is invalid. Check the length and try again.'),
  OAUTH_SIGNATURE_METHOD: def('MA_OAUTH_SIGNATURE_METHOD', 400, 'Signature method %1 is not supported'),
  OAUTH_CONSUMER_KEY_LENGTH: def('MA_OAUTH_CONSUMER_KEY_LENGTH', 401, 'Consumer key is not the correct length'),
  OAUTH_CONSUMER_UNKNOWN: def('MA_OAUTH_CONSUMER_UNKNOWN', 401, 'A consumer having the specified key does not exist'),
  OAUTH_TIMESTAMP: def('MA_OAUTH_TIMESTAMP', 401, 'Incorrect timestamp value in the oauth_timestamp parameter'),
  OAUTH_NONCE_USED: def('MA_OAUTH_NONCE_USED', 401, 'The nonce is already being used by the consumer with ID %1'),
  OAUTH_TOKEN_UNKNOWN: def('MA_OAUTH_TOKEN_UNKNOWN', 401, 'Specified token does not exist'),
  OAUTH_TOKEN_NOT_OF_CONSUMER: def(
    'MA_OAUTH_TOKEN_NOT_OF_CONSUMER',
    401,
    'Token is not associated with the specified consumer',
  ),
  OAUTH_TOKEN_REVOKED: def('MA_OAUTH_TOKEN_REVOKED', 401, 'Access token has been revoked'),
  OAUTH_SIGNATURE_INVALID: def('MA_OAUTH_SIGNATURE_INVALID', 401, 'The signature is invalid. Verify and try again.'),
  // Admin tokens (Magento\Integration\Model\AdminTokenService, Oauth\Token\RequestThrottler): one
  // message for a wrong password, an unknown or inactive user and a locked account alike.
  ADMIN_SIGN_IN_FAILED: def(
    'MA_ADMIN_SIGN_IN_FAILED',
    401,
    'The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.',
  ),
  // Request decoding (source notes §3.4)
  CONTENT_TYPE_EMPTY: def('MA_CONTENT_TYPE_EMPTY', 400, 'Content-Type header is empty.'),
  CONTENT_TYPE_INVALID: def('MA_CONTENT_TYPE_INVALID', 400, 'Content-Type header is invalid.'),
  CHARSET_UNSUPPORTED: def('MA_CHARSET_UNSUPPORTED', 400, 'UTF-8 is the only supported charset.'),
  CONTENT_TYPE_UNSUPPORTED: def(
    'MA_CONTENT_TYPE_UNSUPPORTED',
    400,
    'Server cannot understand Content-Type HTTP header media type %1',
  ),
  DECODING_ERROR: def('MA_DECODING_ERROR', 400, 'Decoding error.'),
  BODY_TOO_LARGE: def('MA_BODY_TOO_LARGE', 413, 'The request body is larger than the allowed %max bytes.'),
  HEADERS_TOO_LARGE: def('MA_HEADERS_TOO_LARGE', 431, 'The request header fields are too large.'),
  BAD_HTTP_REQUEST: def('MA_BAD_HTTP_REQUEST', 400, 'The HTTP request is malformed.'),
  REQUEST_TIMEOUT: def('MA_REQUEST_TIMEOUT', 408, 'The request was not received in time.'),
  // Bounds on work in flight (beyond Magento; its own backpressure answer is 429 "Too Many Requests")
  SERVER_BUSY: def('MA_SERVER_BUSY', 503, 'The server is busy with other requests. Try again in %retryAfter seconds.'),
  NESTING_TOO_DEEP: def('MA_NESTING_TOO_DEEP', 400, 'The request data is nested deeper than the allowed %max levels.'),
  BULK_BODY_NOT_ARRAY: def('MA_BULK_BODY_NOT_ARRAY', 400, 'Request body must be an array'),
  TOO_MANY_ITEMS: def('MA_TOO_MANY_ITEMS', 400, 'Maximum items of type "%type" is %max'),
  // A request item whose input decodes but cannot be encoded again (1e400 is INF): Magento's
  // Json::serialize message, as the item's error_message (source notes §3.4).
  UNSERIALIZABLE_ITEM: def('MA_UNSERIALIZABLE_ITEM', 0, 'Unable to serialize value. Error: %1', true),
  // Validate-only requests (beyond Magento, docs/validate-only.md): a typo must not turn a check
  // into a real bulk, so any value but true/1/false/0 is refused.
  FLAG_INVALID: def('MA_FLAG_INVALID', 400, 'The value "%value" of %parameter is invalid: use true or false.'),
  // A plugin's checks (validate) that did not finish in time: the item's error_message in a
  // validate-only answer, the operation's retriable failure in a consumer.
  CHECK_TIMEOUT: def('MA_CHECK_TIMEOUT', 0, 'The checks of %1 did not finish within %2 ms.', true),
  // Operations of one bulk that would wait for each other in a cycle (docs/dependencies.md): the
  // request is refused (400), or with partialAccept each member is rejected with it; an operation
  // whose wait closes a cycle across bulks fails with it. `%cycle` names each member, the key it
  // requires, and the next member providing it.
  DEPENDENCY_CYCLE: def('MA_DEPENDENCY_CYCLE', 400, 'Dependency cycle: %cycle, provided by the first: none can run.'),
  // Plugin load (an operator's error, never a client's: the consumer or server refuses to start). A
  // `requires` key naming no operation would silently never wait, so it is refused like a handler's.
  PLUGIN_REQUIRES_UNKNOWN: def(
    'MA_PLUGIN_REQUIRES_UNKNOWN',
    0,
    '%1: requires "%2" names no operation of the route table (run codegen, or check the spelling).',
    true,
  ),
  // Validation (ServiceInputProcessor's messages)
  FIELD_REQUIRED: def('MA_FIELD_REQUIRED', 400, '"%fieldName" is required. Enter and try again.'),
  FIELD_NOT_SUPPORTED: def(
    'MA_FIELD_NOT_SUPPORTED',
    400,
    '"%fieldName" is not supported. Correct the field name and try again.',
  ),
  FIELD_TYPE_INVALID: def(
    'MA_FIELD_TYPE_INVALID',
    400,
    'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
  ),
  FIELD_VALUE_INVALID: def(
    'MA_FIELD_VALUE_INVALID',
    400,
    'Invalid value of "%value" provided for the %fieldName field.',
  ),
  // Idempotency (beyond Magento)
  IDEMPOTENCY_KEY_REUSED: def(
    'MA_IDEMPOTENCY_KEY_REUSED',
    422,
    'The Idempotency-Key "%key" was already used with a different request.',
  ),
  IDEMPOTENCY_KEY_INVALID: def('MA_IDEMPOTENCY_KEY_INVALID', 400, 'The Idempotency-Key header is invalid: %reason'),
  // Status API (source notes §6)
  BULK_NOT_FOUND: def('MA_BULK_NOT_FOUND', 404, 'Bulk uuid %bulkUuid not exist'),
  INVALID_OPERATION_STATUS: def('MA_INVALID_OPERATION_STATUS', 400, 'Invalid Operation Status.'),
  PAGE_SIZE_TOO_LARGE: def('MA_PAGE_SIZE_TOO_LARGE', 400, 'Maximum SearchCriteria pageSize is %max'),
  SEARCH_FIELD_UNKNOWN: def('MA_SEARCH_FIELD_UNKNOWN', 400, 'Cannot filter or sort by "%field": unknown field.'),
  SEARCH_CONDITION_INVALID: def('MA_SEARCH_CONDITION_INVALID', 400, 'Invalid condition type "%conditionType".'),
  SORT_DIRECTION_INVALID: def(
    'MA_SORT_DIRECTION_INVALID',
    400,
    'The sort order has to be specified as %1 for ascending order or %2 for descending order.',
  ),
  SEARCH_TOO_COMPLEX: def(
    'MA_SEARCH_TOO_COMPLEX',
    400,
    'The search criteria are too complex: at most %max %what are allowed.',
  ),
  SEARCH_PAGE_TOO_DEEP: def(
    'MA_SEARCH_PAGE_TOO_DEEP',
    400,
    'The search criteria reach too far: currentPage × pageSize may be at most %max.',
  ),
  SEARCH_FIELD_NOT_SEARCHABLE: def(
    'MA_SEARCH_FIELD_NOT_SEARCHABLE',
    400,
    'Cannot use "%conditionType" on "%field": the field holds stored input.',
  ),
  TOO_MANY_WAITERS: def(
    'MA_TOO_MANY_WAITERS',
    503,
    'Too many requests are waiting for bulks to finish. Try again in %retryAfter seconds.',
  ),
  INVALID_STATUS_LIST: def('MA_INVALID_STATUS_LIST', 400, 'Only failed operations (statuses 2 and 3) can be retried.'),
  // An operation's failure that was not an OperationError: its message (SQL, URLs, paths) stays in
  // the consumer's log; result_message says only this (rendered, it is stored as text).
  OPERATION_INTERNAL_ERROR: def(
    'MA_OPERATION_INTERNAL_ERROR',
    0,
    'The operation failed with an internal error (%code). Details are in the consumer log under operation %operation.',
    true,
  ),
  // A handler queried ctx.tx again after a failed statement whose error it caught (SQLSTATE 25P02):
  // said plainly, with the way out, instead of an opaque internal error.
  TRANSACTION_ABORTED: def(
    'MA_TRANSACTION_ABORTED',
    0,
    "The operation's transaction is aborted: an earlier statement failed (SQLSTATE %code) and its error was caught, so PostgreSQL ignores every statement until it is rolled back. Run statements that may fail inside savepoint(ctx.tx, async () => ...) (from the plugin API) to go on after their failure, or let the error propagate.",
    true,
  ),
  SECRET_ERASED: def(
    'MA_SECRET_ERASED',
    0,
    'The secret fields of this operation were erased when it finished; send the request again.',
    true,
  ),
  // Completion webhooks (beyond Magento, docs/webhooks.md)
  WEBHOOKS_OFF: def('MA_WEBHOOKS_OFF', 400, 'Completion webhooks are not enabled on this server.'),
  CALLBACK_URL_INVALID: def('MA_CALLBACK_URL_INVALID', 400, 'The X-Callback-Url "%url" is invalid: %reason'),
  CALLBACK_URL_NOT_ALLOWED: def(
    'MA_CALLBACK_URL_NOT_ALLOWED',
    400,
    'The X-Callback-Url "%url" is not an allowed webhook destination.',
  ),
  // Anything unexpected: details go to the log under the report id, never to the client.
  INTERNAL: def(
    'MA_INTERNAL',
    500,
    'Internal Error. Details are available in the log file. Report ID: webapi-%1',
    true,
  ),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorParameters = Record<string, unknown> | unknown[];

/** An error meant for the client, rendered in Magento's format by the HTTP error middleware. */
export class WebapiError extends Error {
  readonly definition: ErrorDefinition;
  readonly parameters: ErrorParameters | undefined;
  /** Magento's numeric `code` key, sent only when non-zero. */
  readonly magentoCode: number;
  /** Several errors at once (Magento's `errors` key). */
  readonly errors: WebapiError[] | undefined;

  constructor(
    definition: ErrorDefinition,
    parameters?: ErrorParameters,
    options: { magentoCode?: number; errors?: WebapiError[]; cause?: unknown } = {},
  ) {
    super(renderTemplate(definition.template, parameters), { cause: options.cause });
    this.name = 'WebapiError';
    this.definition = definition;
    this.parameters = parameters;
    this.magentoCode = options.magentoCode ?? 0;
    this.errors = options.errors;
  }

  get status(): number {
    return this.definition.status;
  }

  get code(): string {
    return this.definition.code;
  }
}

/** Fills `%name` / `%1` placeholders, as Magento's Phrase renderer does. */
export function renderTemplate(template: string, parameters?: ErrorParameters): string {
  if (!parameters) return template;
  return template.replace(/%(\w+)/g, (whole, key: string) => {
    const value = Array.isArray(parameters)
      ? /^\d+$/.test(key)
        ? parameters[Number(key) - 1]
        : undefined
      : parameters[key];
    return value === undefined ? whole : String(value);
  });
}

/** The JSON body Magento sends for an error, keys in Magento's order (source notes §10). */
export function errorBody(error: WebapiError): Record<string, unknown> {
  const { definition, parameters } = error;
  const body: Record<string, unknown> = {
    message: definition.rendered ? error.message : definition.template,
  };
  if (error.errors && error.errors.length > 1) body.errors = error.errors.map((e) => errorBody(e));
  if (error.magentoCode !== 0) body.code = error.magentoCode;
  const hasParameters = Array.isArray(parameters)
    ? parameters.length > 0
    : parameters && Object.keys(parameters).length > 0;
  if (!definition.rendered && hasParameters) body.parameters = parameters;
  return body;
}
