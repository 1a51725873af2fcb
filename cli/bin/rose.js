#!/usr/bin/env node
// The `rose` command. Plain JS so the Node version check runs before any TypeScript is loaded.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `rose needs Node.js >= 22.12, but this is Node ${process.versions.node} (${process.execPath}).\n` +
      'Run it as `npx rose ...` or through an npm script, so the project\'s pinned Node 24 (node_modules/.bin/node) is used.',
  );
  process.exit(1);
}
// Node >= 22.18 strips TypeScript types natively; silence its one-time notice about it.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning') console.warn(w);
});
const { main } = await import('../src/main.ts');
await main(process.argv);
