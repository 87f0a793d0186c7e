-- Plugin tables live in each plugin's own schema (src/plugins/migrations.ts). Before, the shipped
-- example plugins created theirs in ours: move them, data, identity sequences and indexes
-- included, into the schema the example now uses, so a deployment that enables the example again
-- (`plugins.examples`) finds its products, customers and pages. The examples' first migration is
-- CREATE ... IF NOT EXISTS, so it then finds the moved tables and changes nothing. Deployments that
-- never ran the examples have none of these tables, and nothing happens.
DO $$
DECLARE
  moved record;
  target text;
BEGIN
  FOR moved IN
    SELECT * FROM (VALUES
      ('catalog_product', 'magento_catalog'),
      ('catalog_product_value', 'magento_catalog'),
      ('customer_entity', 'magento_customer'),
      ('cms_page', 'magento_cms')
    ) AS t(name, plugin)
  LOOP
    target := '{{schema_name}}__' || moved.plugin;
    IF to_regclass(format('%I.%I', '{{schema_name}}', moved.name)) IS NOT NULL
       AND to_regclass(format('%I.%I', target, moved.name)) IS NULL THEN
      EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', target);
      EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', '{{schema_name}}', moved.name, target);
    END IF;
  END LOOP;
END
$$;
