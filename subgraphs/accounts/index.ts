import { parse } from 'graphql';
import { readSubgraphSdl } from '../catalog';
import type { SubgraphDefinition } from '../kit/server';
import { createAccountsLoaders, type AccountsLoaders } from './context';
import { ACCOUNTS_ENCRYPTED, createAccountsModels, type AccountsModels } from './models';
import { permissions } from './permissions';
import { accountsPlatform } from './platform';
import { resolvers } from './resolvers';

export const accounts: SubgraphDefinition<AccountsModels, AccountsLoaders> = {
  name: 'accounts',
  typeDefs: parse(readSubgraphSdl('accounts')),
  resolvers,
  models: createAccountsModels,
  createLoaders: createAccountsLoaders,
  permissions,
  encrypted: ACCOUNTS_ENCRYPTED,
  platform: accountsPlatform,
};
