/**
 * What `tollgate token` warns about: a development token is minted for whatever tenant and e-mail it is given (the
 * gateway then refuses it, or the subgraphs know no such user), so the command looks both up — read-only, with one
 * connection and a short timeout — and says what it did not find. A check that cannot be made is a warning too; the
 * token is printed either way.
 */
import mongoose, { Types } from 'mongoose';
import { userIdFor } from '../common/ids';
import type { CommonConfig } from '../gateway/src/config-common';

/** The accounts subgraph's database, as subgraphs/run.ts names it by default (`MONGODB_DB` there). */
export const DEFAULT_ACCOUNTS_DB = 'tollgate_accounts';

export interface TokenSubject {
  tenant: string;
  email: string;
}

/** Warnings (no `tollgate:` prefix) about the token's tenant and user; none when both exist. */
export async function tokenSubjectWarnings(
  subject: TokenSubject,
  config: CommonConfig,
  accountsDb: string,
): Promise<string[]> {
  const connection = mongoose.createConnection(config.controlPlane.mongoUri, {
    serverSelectionTimeoutMS: 3_000,
    bufferCommands: false,
  });
  try {
    await connection.asPromise();
    const tenant = await connection
      .useDb(config.controlPlane.dbName, { useCache: true })
      .collection('tenants')
      .findOne({ _id: subject.tenant as never }, { projection: { status: 1 } });
    if (!tenant)
      return [
        `no tenant ${subject.tenant} in the control plane (${config.controlPlane.dbName}): the gateway will refuse this token`,
      ];
    const warnings: string[] = [];
    if (tenant.status !== 'active')
      warnings.push(`tenant ${subject.tenant} is ${String(tenant.status)}: the gateway will refuse this token`);
    const user = await connection
      .useDb(accountsDb, { useCache: true })
      .collection('users')
      // By the id the token names (derived from tenant and address): the stored address is sealed (kit/encryption),
      // and the CLI holds no tenant key to compute its blind index.
      .findOne(
        { tenantId: subject.tenant, _id: new Types.ObjectId(userIdFor(subject.tenant, subject.email)) as never },
        { projection: { _id: 1 } },
      );
    if (!user)
      warnings.push(
        `no user ${subject.email} in tenant ${subject.tenant} (${accountsDb}): the token works, but queries about "me" find nobody`,
      );
    return warnings;
  } catch (error) {
    return [`could not check the tenant and user (${error instanceof Error ? error.message : String(error)})`];
  } finally {
    await connection.close();
  }
}
