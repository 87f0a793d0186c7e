-- Secrets at rest (src/accept/secrets.ts): an operation's secret fields are stored as
-- `$ma-enc$v1$…` envelopes while it may still run. The moment its status becomes final (1 complete,
-- 3 not retriably failed or canceled, 5 rejected) every envelope left in `serialized_data` is
-- replaced by `$ma-erased$`, whichever statement recorded the outcome. Status 2 keeps them: it is
-- retried. A retry of a status-3 operation whose secrets were erased fails saying so.
CREATE FUNCTION {{schema}}.erase_final_secrets() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  NEW.serialized_data := regexp_replace(NEW.serialized_data, '\$ma-enc\$v1\$[A-Za-z0-9_-]*', '$ma-erased$', 'g');
  RETURN NEW;
END
$body$;

CREATE TRIGGER operation_erase_final_secrets
  BEFORE UPDATE OF status ON {{schema}}.operation
  FOR EACH ROW
  WHEN (NEW.status IN (1, 3, 5) AND strpos(NEW.serialized_data, '$ma-enc$') > 0)
  EXECUTE FUNCTION {{schema}}.erase_final_secrets();
