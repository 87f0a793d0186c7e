/**
 * Magento_Customer: AccountManagement::createAccount. A duplicate email in the same website fails
 * the operation (status 3) with Magento's message; the other operations of the bulk are unaffected.
 */
import { readFileSync } from 'node:fs';
import { definePlugin, OperationError } from '../../src/plugin.ts';
import type { OperationArgs } from '../../src/generated/handlers.gen.ts';
import { checkPasswordStrength, hashPassword } from './password.ts';
import { insertCustomer, storeExists } from './sql.ts';

export const migrations: string[] = [readFileSync(new URL('./schema.sql', import.meta.url), 'utf8')];

const DUPLICATE = 'A customer with the same email address already exists in an associated website.';
const DEFAULT_STORE_ID = 1;

interface CustomerInput {
  email?: string;
  firstname?: string;
  lastname?: string;
  middlename?: string;
  store_id?: number;
  website_id?: number;
  group_id?: number;
}

export interface CreateAccountArgs {
  customer?: CustomerInput;
  password?: string | null;
  redirectUrl?: string;
}

function required(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.trim()) {
    throw new OperationError(`"${field}" is required. Enter and try again.`);
  }
  return value;
}

// Typed by the generated map: the consumer delivers arguments as it says (src/plugins/coerce.ts).
export default definePlugin<OperationArgs>({
  name: 'Magento_Customer',
  compatibility: '^1.0.0',
  // Creates name their entity in the body; the other routes are keyed by their path parameters.
  orderKeys: { PostV1Customers: ['customer.email'] },
  handlers: {
    PostV1Customers: async (args, ctx) => {
      const customer = args.customer ?? {};
      const email = required(customer.email, 'email');
      const firstname = required(customer.firstname, 'firstname');
      const lastname = required(customer.lastname, 'lastname');
      // A customer belongs to a store view; the admin scope (`all`) is none, so it means the default.
      const storeId = customer.store_id ?? (ctx.store.id === 0 ? DEFAULT_STORE_ID : ctx.store.id);
      if (!(await storeExists(ctx.tx, storeId))) {
        throw new OperationError(`The store that was requested wasn't found. Verify the store and try again.`);
      }
      let passwordHash: string | null = null;
      if (typeof args.password === 'string') {
        checkPasswordStrength(args.password, email);
        passwordHash = await hashPassword(args.password);
      }
      const row = await insertCustomer(ctx.tx, {
        email,
        firstname,
        lastname,
        middlename: customer.middlename ?? null,
        storeId,
        websiteId: customer.website_id ?? null,
        groupId: customer.group_id ?? null,
        passwordHash,
      });
      if (!row) throw new OperationError(DUPLICATE);
      const { middlename, ...rest } = row;
      return {
        ...rest,
        ...(middlename !== null ? { middlename } : {}),
        addresses: [],
        disable_auto_group_change: 0,
        extension_attributes: { is_subscribed: false },
      };
    },
  },
});
