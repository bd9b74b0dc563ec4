import type DataLoader from 'dataloader';
import { createLoaderBy, type LoaderOptions } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { AccountsModels, UserRecord } from './models';

export interface AccountsLoaders {
  userById: DataLoader<string, UserRecord | null>;
}

export function createAccountsLoaders(
  models: AccountsModels,
  options?: Pick<LoaderOptions, 'onBatch'>,
): AccountsLoaders {
  return { userById: createLoaderBy(models.User, '_id', options?.onBatch) };
}

export type AccountsContext = SubgraphContext<AccountsModels, AccountsLoaders>;
