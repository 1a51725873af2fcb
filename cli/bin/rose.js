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
// Keep V8's compiled code (and the stripped TypeScript) of the modules a command loads on disk
// (in the system's temporary folder unless NODE_COMPILE_CACHE names one): the next start
// compiles nothing it compiled before, which halves the CPU time `rose --help` takes.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
const { main } = await import('../src/main.ts');
await main(process.argv);
