/**
 * The commands, loaded together as one lazy import: bundled, they arrive in a few chunks instead
 * of the dozen that separate imports split them into (each file costs the module loader about
 * 2 ms at every start). What pulls in a heavy dependency (chalk, cli-table3, zod, yaml, ws)
 * still loads it only when it runs.
 */
export * as analyze from './analyze.js';
export * as capture from './capture.js';
export * as demo from './demo.js';
export * as diagnose from './diagnose.js';
export * as diff from './diff.js';
export * as playbookShow from './playbook-show.js';
export * as playbookValidate from './playbook-validate.js';
export * as snapshot from './snapshot.js';
export * as top from './top.js';
export * as watch from './watch.js';
