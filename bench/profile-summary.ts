/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. the gateway's under `BENCH_PROFILE=1 npm run bench`): self
 * time by package / source file and the heaviest functions.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile [top] [skip the first N seconds]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarise(profile: Profile, top = 25, fromS = 0): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let at = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    // Startup (module loading, schema building) is left out by starting the summary `fromS` seconds in.
    if (at >= fromS * 1e6) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const sampled = [...self.values()].reduce((a, b) => a + b, 0);
  // Shares are of the time the thread was busy: an idle gateway waiting on its subgraphs says nothing about its cost.
  const idleIds = new Set(
    profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id),
  );
  const idle = [...idleIds].reduce((sum, id) => sum + (self.get(id) ?? 0), 0);
  for (const id of idleIds) self.delete(id);
  const total = sampled - idle;
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, time] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const group = pkg ?? (url ? url.replace(/^file:\/\/.*?\/work\/main\//, '') : `(${functionName || 'native'})`);
    byGroup.set(group, (byGroup.get(group) ?? 0) + time);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/)?/, '')}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + time);
  }
  const table = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return `sampled ${(sampled / 1e6).toFixed(2)} s, busy ${(total / 1e6).toFixed(2)} s (shares below are of busy time)\n\nself time by package / file\n${table(byGroup)}\n\nheaviest functions (self)\n${table(byFunction)}`;
}

if (require.main === module) {
  const [file, top, from] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 25), Number(from ?? 0)));
}
