/**
 * The test targets are compiled under dist/test/, and `node --test dist/test/` runs every .js
 * file below a "test" directory as a test file. Started that way (without the launcher's
 * environment) a target must not wait forever: it says what it is and exits 0.
 */
export function exitUnlessLaunched(name: string): void {
  if (process.env.PROCTRIAGE_SERVICE_WATCHDOG === undefined) {
    process.stdout.write(`# ${name}: a process for the end-to-end tests, started by test/helpers; nothing to do on its own\n`);
    process.exit(0);
  }
}
