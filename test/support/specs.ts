/**
 * The real specs of the shared workspace (Magento 2.4.8, Box, Adyen): never part of the repository.
 * They sit beside the checkout (`../shared/specs`); `MAGENTO_ASYNC_SHARED_SPECS` points elsewhere
 * (a worktree one level deeper). Tests that need them skip when they are absent.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from './checkout.ts';

export const SHARED_SPECS = process.env.MAGENTO_ASYNC_SHARED_SPECS ?? join(PROJECT_ROOT, '../shared/specs');
