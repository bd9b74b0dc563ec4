/**
 * Summarises a V8 heap snapshot (bench/flood.ts with FLOOD_SNAPSHOT=1) by what holds the bytes: self size and
 * count per constructor name, largest first. `npx tsx bench/heap-summary.ts <file.heapsnapshot> [top]`.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [top]');
const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fields = snapshot.snapshot.meta.node_fields;
const types = snapshot.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const totals = new Map<string, { bytes: number; count: number }>();
let all = 0;
for (let i = 0; i < snapshot.nodes.length; i += width) {
  const type = types[snapshot.nodes[i + typeAt]!]!;
  const name = type === 'object' || type === 'closure' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${type})`;
  const bytes = snapshot.nodes[i + sizeAt]!;
  all += bytes;
  const total = totals.get(name) ?? { bytes: 0, count: 0 };
  total.bytes += bytes;
  total.count += 1;
  totals.set(name, total);
}
const top = Number(topArg ?? 25);
process.stdout.write(`total self size ${(all / 1_048_576).toFixed(1)} MiB\n`);
for (const [name, { bytes, count }] of [...totals].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)) {
  process.stdout.write(
    `${(bytes / 1_048_576).toFixed(1).padStart(8)} MiB ${String(count).padStart(9)}  ${name.slice(0, 80)}\n`,
  );
}
