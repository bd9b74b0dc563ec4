import { writeFileSync } from 'node:fs';
import { SUPERGRAPH_PATH, composeSupergraph } from '../schema/compose';

writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
process.stdout.write(`wrote ${SUPERGRAPH_PATH}\n`);
