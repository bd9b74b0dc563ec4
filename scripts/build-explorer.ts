/** `npm run build:explorer`: writes the schema explorer's bundle to .data/explorer (see gateway/src/explorer/bundle.ts). */
import { EXPLORER_DIST, buildExplorer } from '../gateway/src/explorer/bundle';

buildExplorer().then(
  (manifest) => console.log(`explorer bundle: ${EXPLORER_DIST}/${manifest.script}, ${manifest.stylesheet}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
