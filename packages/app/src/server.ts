// What starts and runs the site (the CLI, benchmarks): services, the front handlers' loop, the
// build pipeline. Pages import `@rose/app`, which loads none of this.
export { answerInFront, createServices } from './services.ts';
export { createSiteBuild, readSnapshots } from './wire-site.ts';
