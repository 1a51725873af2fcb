#!/usr/bin/env node
// Rose Ash needs Node >= 22.12 (Astro 7, vitest 5, Fedify). `npm install` puts Node 24
// in node_modules/.bin (the pinned `node` package) and npm scripts put that folder first
// on PATH. This guard turns a silent mismatch into a readable error.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `Rose Ash needs Node.js >= 22.12, but this is Node ${process.versions.node} (${process.execPath}).\n` +
      'Run it through npm so the project\'s pinned Node 24 is used: `npm start`, `npm test`, `npx rose ...`.\n' +
      'If node_modules/.bin/node is missing, run `npm install` (without --ignore-scripts), or `npm rebuild node`.',
  );
  process.exit(1);
}
