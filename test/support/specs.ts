/**
 * The real specs of the shared workspace (Magento 2.4.8, Box, Adyen), beside the checkout and never
 * part of the repository. Tests that need them skip when they are absent.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from './checkout.ts';

export const SHARED_SPECS = join(PROJECT_ROOT, '../shared/specs');
