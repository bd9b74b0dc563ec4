/**
 * Reading the counters Redis holds for one tenant (meter.ts writes them): the hours asked for, every credential
 * counted in each. Two round trips, each one pipeline over the tenant's slot: the hours' indexes, then the hashes.
 */
import type { RedisClient } from '../redis/connect';
import { hourIndexKey, hourKey, isCredentialLabel } from './keys';
import { countsFromHash, type HourUsage } from './report';

export async function readLiveHours(
  redis: RedisClient,
  prefix: string,
  tenantId: string,
  hours: readonly string[],
): Promise<HourUsage[]> {
  if (hours.length === 0) return [];
  const indexes = await pipelineResults<string[]>(
    redis,
    hours.map((hour) => ['smembers', hourIndexKey(prefix, tenantId, hour)]),
  );
  const wanted: { hour: string; credential: string }[] = [];
  hours.forEach((hour, i) => {
    for (const credential of indexes[i] ?? []) if (isCredentialLabel(credential)) wanted.push({ hour, credential });
  });
  if (wanted.length === 0) return [];
  const hashes = await pipelineResults<Record<string, string>>(
    redis,
    wanted.map(({ hour, credential }) => ['hgetall', hourKey(prefix, tenantId, hour, credential)]),
  );
  return wanted.map(({ hour, credential }, i) => ({ hour, credential, ...countsFromHash(hashes[i] ?? {}) }));
}

async function pipelineResults<T>(redis: RedisClient, commands: string[][]): Promise<T[]> {
  const results = await redis.pipeline(commands).exec();
  if (!results) throw new Error('Redis pipeline answered nothing');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value as T;
  });
}
