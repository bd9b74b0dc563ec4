/**
 * Encryption at rest for a subgraph: its key store in its own database and the field cipher over it. See the
 * README's "Encryption at rest".
 */
import type { Connection } from 'mongoose';
import type { EncryptionSettings } from '../../../common/master-key';
import { CLEAR_FIELDS, createFieldCipher, type FieldCipher } from './field-cipher';
import { createMasterKeyProvider, type KeyProvider } from './key-provider';
import {
  TENANT_KEYS_COLLECTION,
  createTenantKeyStore,
  type KeyCacheOptions,
  type TenantKeyDocument,
  type TenantKeyStore,
} from './key-store';

export type EncryptionOptions = { keyProvider: KeyProvider; cache?: KeyCacheOptions } | 'off';

export interface Encryption {
  cipher: FieldCipher;
  /** Absent when encryption is off. */
  keyStore?: TenantKeyStore;
}

export function openEncryption(connection: Connection, options: EncryptionOptions): Encryption {
  if (options === 'off') return { cipher: CLEAR_FIELDS };
  const db = connection.db;
  if (!db) throw new Error('the database connection is not open');
  const keyStore = createTenantKeyStore({
    collection: db.collection<TenantKeyDocument>(TENANT_KEYS_COLLECTION),
    provider: options.keyProvider,
    ...(options.cache ? { cache: options.cache } : {}),
  });
  return { cipher: createFieldCipher(keyStore), keyStore };
}

/** The EncryptionOptions of configured settings (common/master-key.ts). */
export function encryptionOptionsOf(settings: EncryptionSettings): EncryptionOptions {
  return settings.enabled ? { keyProvider: createMasterKeyProvider(settings.masterKey), cache: settings.cache } : 'off';
}
