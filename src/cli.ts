/**
 * The CLI layer: commander wiring only. Commands load their modules lazily, and
 * `proctriage --version` is answered by bin/proctriage.js before this module loads. Only this
 * layer (with src/commands) prints or exits.
 */
import { VERSION } from './version.js';
import { ProctriageError, UsageError } from './errors.js';
import { ProcFs } from './procfs/procfs.js';
import { realpathSync, statSync } from 'node:fs';

const DEFAULTS = { format: 'table', timeout: '10s' } as const;
const FORMATS = ['table', 'json', 'markdown', 'md'];
/** a report's formats: the monitoring ones too (Prometheus text exposition, a Nagios plugin's output) */
const REPORT_FORMATS = [...FORMATS, 'prometheus', 'nagios'];

// commander's argParsers; a UsageError passes through commander to fail(): one line, exit 3
const parseFormat =
  (formats: string[]) =>
  (f: string): string => {
    if (!formats.includes(f)) throw new UsageError(`--format must be ${formats.filter((x) => x !== 'md').join(', ')}, not "${f}"`);
    return f === 'md' ? 'markdown' : f;
  };
const parseLimit = (s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('--limit must be a positive whole number');
  return n;
};

const argv = process.argv.slice(2);
if (argv.includes('--activate-inspector')) {
  // an interrupted run closes the inspector it opened before it exits (the guard process and the
  // dead-man timer in the target cover a run that is killed outright)
  for (const [sig, n] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
  ] as const) {
    process.once(sig, () => {
      process.stderr.write(`proctriage: ${sig}: closing what was opened, then exiting\n`);
      void import('./engine/interrupt.js').then((m) => m.runInterruptCleanups(2000)).finally(() => process.exit(128 + n));
    });
  }
}
main(argv).then((code) => {
  process.exitCode = code;
}, fail);

// commander hands each action its own argument types: the lazy loader cannot name them all
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Action = (...args: any[]) => Promise<number>;

async function main(args: string[]): Promise<number> {
  // the live system the commands read: / or, with --host-root (global: before or after the
  // command, taken out of the arguments here), the host's root mounted elsewhere
  const hostRootArg = takeHostRoot(args);
  const hostRoot = hostRootArg === undefined ? '/' : checkHostRoot(hostRootArg);
  // opened once for the commands that read it. A diagnosis gives its first target a head start
  // (a big target's second thread, the first CPU sample) while commander and the diagnosis
  // modules load, some 40 ms. A leading PID is only a guess here, commander still decides:
  // a wrong guess costs one read of /proc/PID/stat.
  const proc = new ProcFs(hostRoot, { live: true });
  const leading = args[0] === 'diagnose' ? args[1] : args[0];
  if (leading !== undefined && /^\d+$/.test(leading)) proc.headStart(Number(leading));
  const { Command, Option, CommanderError } = await import('commander');
  let exitCode = 0;
  const lazy =
    (load: () => Promise<{ run: Action }>): ((...a: unknown[]) => Promise<void>) =>
    async (...a) => {
      const args = a.slice(0, -1);
      const o = args[args.length - 1];
      if (o && typeof o === 'object') Object.assign(o, { hostRoot });
      exitCode = await (await load()).run(...args);
    };

  const output = (cmd: InstanceType<typeof Command>, formats = REPORT_FORMATS) =>
    cmd
      .option('--json', 'print the report as JSON (same as --format json)')
      .addOption(new Option('--format <format>', 'output format').choices(formats).argParser(parseFormat(formats)).default(DEFAULTS.format))
      .option('--no-redact', 'show secrets in command lines and paths as they are (loudly)')
      .option('--no-color', 'no colours (also NO_COLOR=1 or a non-terminal stdout)');

  const targetOptions = (cmd: InstanceType<typeof Command>) =>
    hostRootHelp(output(cmd))
      .option('--name <pattern>', 'select targets by command name / command line (regular expression)')
      .option(
        '--inspect [[host:]port|ws://url]',
        'also probe a Node.js process through its inspector: the given address, or alone to use the one it has open (loopback only)',
      )
      .option('--activate-inspector', 'send SIGUSR1 to a verified Node.js target to open its inspector, then close it again')
      .option('--allow-remote', 'allow a non-loopback --inspect or --pprof address (the inspector grants code execution)')
      .option('--trust-peer', "accept an --inspect or --pprof address that is not one of the target's own sockets (a port forward, a container)")
      .option('--pprof <url>', 'also probe a Go process through its net/http/pprof endpoint')
      .option('--no-discover', "do not look for a Go process's pprof endpoint (one GET /debug/pprof/ to each of its own loopback listeners)")
      .option('--playbook <file>', 'use a team playbook (YAML or JSON, validated)')
      .option('--timeout <duration>', 'overall deadline', DEFAULTS.timeout);

  const hostRootHelp = (cmd: InstanceType<typeof Command>) =>
    cmd.option(
      '--host-root <dir>',
      "the host's root filesystem mounted at <dir> (a debug pod, a DaemonSet): read /proc and the cgroups there; PIDs are host PIDs",
    );

  const program = new Command('proctriage')
    .description('Classified diagnosis of resource leaks in a running Linux process.\nExit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.')
    .version(VERSION)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // one line per usage error: commander's suggestion ("Did you mean …?") joins it, then where to read more
      outputError: (s, write) =>
        write(
          `proctriage: ${s
            .replace(/^error: /, '')
            .replace(/\s*\(Did you mean (.*)\?\)/, ': did you mean $1?')
            .trim()
            .split(/\s*\n\s*/)
            .join(' ')} (run proctriage --help for usage)\n`,
        ),
    })
    .helpCommand('help [command]', 'show the help of a command')
    // --json is --format json: with another --format it is a contradiction, not a choice to guess
    .hook('preAction', (_, action) => {
      const o = action.opts<{ json?: boolean; format?: string }>();
      if (o.json && action.getOptionValueSource('format') === 'cli' && o.format !== 'json') {
        throw new UsageError(`--json and --format ${o.format} disagree: give one of them`);
      }
    });

  // opt-in tools that pause a Node.js target: one-shot diagnosis only
  const heavyOptions = (cmd: InstanceType<typeof Command>) =>
    cmd
      .option('--heap-snapshot <file>', 'Node.js: write a V8 heap snapshot ({pid} = process id); PAUSES the target, memory can peak at 16x its heap')
      .option('--report <file>', 'Node.js: write its diagnostic report, redacted ({pid} = process id); blocks the target briefly')
      .option('--force', 'take the heap snapshot even when the memory headroom looks too small')
      .option('--overwrite', 'replace an existing --heap-snapshot or --report file (only ever a regular file)');
  // for node_exporter's textfile collector: one-shot diagnosis and top
  const textfileOption = (cmd: InstanceType<typeof Command>) =>
    cmd.option('--textfile <dir>', 'write the Prometheus exposition to <dir>/proctriage.prom atomically; stdout only with a --format other than table');
  const diagnose = async (pids: string[], opts: object) => {
    const [first] = pids;
    if (first !== undefined && /^\d+$/.test(first)) proc.headStart(Number(first));
    exitCode = await (await import('./commands/index.js')).diagnose.run(pids, { ...opts, proc });
  };
  textfileOption(heavyOptions(targetOptions(program.argument('[pids...]', 'process ids to diagnose')))).action(diagnose);
  textfileOption(
    heavyOptions(targetOptions(program.command('diagnose').argument('[pids...]', 'process ids').description('one-shot diagnosis (the default command)'))),
  ).action(diagnose);

  targetOptions(program.command('watch').argument('<pid>').description('sample repeatedly: trends, slopes, time to exhaustion, then the diagnosis'))
    .option('--interval <duration>', 'time between samples', '5s')
    .option('--duration <duration>', 'how long to watch', '2m')
    .option('--samples <file.ndjson>', 'keep every sample in an NDJSON file (a new file unless --overwrite)')
    .option('--overwrite', 'replace an existing regular file at --samples')
    .action(lazy(async () => (await import('./commands/index.js')).watch));
  targetOptions(program.command('snapshot').argument('<pid>').description('write the full report to a file, for diff or later analysis'))
    .requiredOption('-o, --output <file>', 'where to write the snapshot (JSON); an existing file is kept unless --overwrite')
    .option('--overwrite', 'replace an existing regular file at --output')
    .action(lazy(async () => (await import('./commands/index.js')).snapshot));
  output(program.command('diff').argument('<a>').argument('<b>').description('growth of every metric between two snapshots of one process'), FORMATS).action(
    lazy(async () => (await import('./commands/index.js')).diff),
  );
  targetOptions(program.command('capture').argument('<pid>').description('incident bundle: raw /proc and cgroup files, report.json, report.md, manifest'))
    .requiredOption('--dir <dir>', 'bundle directory (created; must not exist or be empty)')
    .option('--trace <duration>', 'first trace (eBPF, as root) which code opens the descriptors still open, for this long; kept as trace.json')
    .action(lazy(async () => (await import('./commands/index.js')).capture));
  output(program.command('analyze').argument('<dir>').description('re-run the diagnosis offline from a capture bundle'))
    .option('--playbook <file>', 'use a team playbook')
    .action(lazy(async () => (await import('./commands/index.js')).analyze));
  textfileOption(hostRootHelp(output(program.command('top').description('rank every process on the host by risk'))))
    .option('--limit <n>', 'how many processes to show (and, as prometheus or nagios, to export beside every one with a problem)', parseLimit, 15)
    .option('--container <id>', 'only the processes of this container (a prefix of its id, as docker ps or crictl ps shows it)')
    .option('--pod <uid>', 'only the processes of this Kubernetes pod (a prefix of its uid, as kubectl get pod -o jsonpath={.metadata.uid} shows it)')
    .action(async (opts: object) => {
      exitCode = await (await import('./commands/index.js')).top.run({ ...opts, proc });
    });
  program
    .command('demo')
    .description('start bundled misbehaving services, triage each, clean up')
    .option('--no-color', 'no colours')
    .option('--keep', 'leave the services running until Ctrl-C (to try proctriage on them yourself)')
    .action(lazy(async () => (await import('./commands/index.js')).demo));

  output(
    program
      .command('trace')
      .argument('<pid>')
      .description('eBPF (bpftrace, as root): descriptors opened in a window and still open, grouped by the stack that opened them'),
    FORMATS,
  )
    .option('--duration <duration>', 'how long to trace', '30s')
    .action(lazy(async () => import('./commands/trace.js')));
  // the MCP SDK loads only here
  program
    .command('mcp')
    .description('serve the read-only tools diagnose, top, watch and playbook_show to an MCP client over stdio')
    .option('--playbook <file>', 'diagnose with a team playbook')
    .option('--host-root <dir>', "read the host's /proc and cgroups under <dir> (a debug pod)")
    .action(lazy(async () => import('./commands/mcp.js')));

  const playbook = program.command('playbook').description('check or print a playbook');
  playbook
    .command('validate')
    .argument('<file>')
    .description('validate a playbook file')
    .action(lazy(async () => (await import('./commands/index.js')).playbookValidate));
  playbook
    .command('show')
    .option('--playbook <file>', 'show this playbook instead of the built-in one')
    .option('--json', 'as JSON')
    .option('--markdown', 'the finding catalogue as a markdown table')
    .description('print the decision tree')
    .action(lazy(async () => (await import('./commands/index.js')).playbookShow));

  try {
    // the default command takes PIDs, so a misspelt command would be read as one (and its options
    // as unknown ones): a word first is a command, and commander says which one was meant
    // (`help <command>` the same)
    const word = args[0] === 'help' ? args[1] : args[0];
    const known = ['help', ...program.commands.flatMap((c) => [c.name(), ...c.aliases()])];
    if (word !== undefined && /^[a-z][a-z-]*$/i.test(word) && !known.includes(word)) {
      program.args = [word];
      (program as unknown as { unknownCommand(): never }).unknownCommand();
    }
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version are not errors; every usage error is UNKNOWN (3) in the Nagios convention
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 3;
    }
    throw err;
  }
  return exitCode;
}

/** Take `--host-root DIR` / `--host-root=DIR` out of the arguments (before a `--`); the last one given wins. */
function takeHostRoot(args: string[]): string | undefined {
  let dir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--host-root' || a.startsWith('--host-root=')) {
      const inline = a.startsWith('--host-root=');
      const v = inline ? a.slice('--host-root='.length) : args[i + 1];
      if (v === undefined || v === '' || (!inline && v.startsWith('-')))
        throw new UsageError("--host-root needs a directory (the host's root, e.g. --host-root /host)");
      dir = v;
      args.splice(i, inline ? 1 : 2);
      i--;
    }
  }
  return dir;
}

/** A host root is a directory with a procfs at proc/; the one-line error says what is missing. */
function checkHostRoot(dir: string): string {
  let abs: string;
  try {
    abs = realpathSync(dir);
    if (!statSync(abs).isDirectory()) throw new UsageError(`--host-root ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--host-root ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as Error).message}`);
  }
  try {
    statSync(`${abs}/proc/stat`);
  } catch {
    throw new UsageError(
      `--host-root ${dir} has no procfs at ${dir.replace(/\/$/, '')}/proc`,
      "mount the host's / there (hostPath /, or kubectl debug node/NAME, which mounts it at /host)",
    );
  }
  return abs;
}

function fail(err: unknown): void {
  process.exitCode = 3;
  // a message can quote a file or a target (a playbook's keys, a path): escapes stay visible
  void import('./engine/redact.js').then(({ clean }) => {
    if (err instanceof ProctriageError) {
      process.stderr.write(`proctriage: ${clean(err.message)}${err.hint ? ` (${clean(err.hint)})` : ''}\n`);
    } else {
      const e = err as Error | undefined;
      process.stderr.write(`proctriage: internal error: ${clean(e?.message ?? String(err))}\n`);
      if (process.env.PROCTRIAGE_DEBUG) process.stderr.write(`${e?.stack}\n`);
    }
  });
}
