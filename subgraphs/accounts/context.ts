import type DataLoader from 'dataloader';
import { createLoaderBy } from '../kit/loaders';
import type { SubgraphContext } from '../kit/server';
import type { AccountsModels, UserRecord } from './models';

export interface AccountsLoaders {
  userById: DataLoader<string, UserRecord | null>;
}

export function createAccountsLoaders(models: AccountsModels): AccountsLoaders {
  return { userById: createLoaderBy(models.User, '_id') };
}

export type AccountsContext = SubgraphContext<AccountsModels, AccountsLoaders>;
