// Preloaded (`node --import`) into a process whose peak resident set a test reports: writes
// process.resourceUsage().maxRSS (KiB) to MAX_RSS_FILE when the process exits.
import { writeFileSync } from 'node:fs';

const file = process.env.MAX_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
