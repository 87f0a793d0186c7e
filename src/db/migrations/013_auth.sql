-- Integrations with OAuth 1.0a credentials, admin users and admin tokens (docs/authentication.md).

-- An integration is Magento's integration, OAuth consumer and access token in one row. Its id comes
-- from the integration tokens' sequence: both are user type 1 on a bulk, so their ids must never
-- collide, or one could read the other's bulks.
CREATE TABLE {{schema}}.integration (
  id                 bigint PRIMARY KEY DEFAULT nextval('{{schema}}.integration_token_id_seq'),
  name               text NOT NULL,
  -- ACL resources granted to every credential of the integration; `{all}` grants every resource.
  resources          text[] NOT NULL,
  -- Sent in the clear on every request, like a user name: stored as is, looked up by it.
  consumer_key       text NOT NULL UNIQUE,
  -- HMAC verification needs the secrets themselves: encrypted with the crypt key (src/auth/encryptor.ts).
  consumer_secret    text NOT NULL,
  -- sha256 of the access token: the OAuth lookup checks it, bearer use finds the row by it.
  access_token_hash  bytea NOT NULL UNIQUE,
  token_secret       text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  revoked_at         timestamptz
);
-- Names are unique among active integrations, as Magento's are; a revoked name can be reused.
CREATE UNIQUE INDEX integration_active_name ON {{schema}}.integration (name) WHERE revoked_at IS NULL;

-- Nonces seen per consumer (Magento's oauth_nonce). Rows older than the timestamp window can never
-- match again (older timestamps are refused) and are deleted.
CREATE TABLE {{schema}}.oauth_nonce (
  integration_id  bigint NOT NULL REFERENCES {{schema}}.integration (id) ON DELETE CASCADE,
  nonce           text NOT NULL,
  timestamp       bigint NOT NULL,
  PRIMARY KEY (integration_id, nonce)
);
CREATE INDEX oauth_nonce_timestamp ON {{schema}}.oauth_nonce (timestamp);

CREATE TABLE {{schema}}.admin_user (
  id             bigserial PRIMARY KEY,
  username       text NOT NULL UNIQUE,
  email          text,
  firstname      text,
  lastname       text,
  -- scrypt, with its parameters and salt (src/auth/password.ts).
  password_hash  text NOT NULL,
  -- The user's ACL role; `{all}` is Magento's Administrators role (Magento_Backend::all).
  resources      text[] NOT NULL,
  is_active      boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE {{schema}}.admin_token (
  id          bigserial PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES {{schema}}.admin_user (id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);
CREATE INDEX admin_token_expires ON {{schema}}.admin_token (expires_at);

-- Failed admin token requests per user name (Magento's oauth_token_request_log): the lockout.
CREATE TABLE {{schema}}.auth_failure (
  user_name        text NOT NULL,
  user_type        smallint NOT NULL,
  failures_count   integer NOT NULL,
  lock_expires_at  timestamptz NOT NULL,
  PRIMARY KEY (user_name, user_type)
);
