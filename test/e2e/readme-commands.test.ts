/**
 * Every `proctriage …` command of the README's "## Use" section runs: the lines of its code blocks
 * that start with `proctriage ` (or `$ proctriage `) are run with the built CLI, their example PIDs,
 * ports and URLs replaced by real ones (a Node.js target with its inspector open, one without, a
 * Go service with net/http/pprof), files written in a temporary directory. A README example that
 * no longer parses — a renamed flag, a removed command — fails here: no usage error, and an exit
 * code that is a verdict (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN with a report on stdout).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, REPO, runCli, startTarget, type CliOptions } from '../helpers/processes.js';
import { start, TARGETS as NODE_TARGETS, type Target as NodeTarget } from '../fixtures/node-targets/harness.js';
import { buildService, goUnavailable, serviceEnv } from '../fixtures/go-service/service.js';
import { traceReady } from '../helpers/tracefs.js';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const USE = README.split(/^## Use$/m)[1]?.split(/^## /m)[0] ?? '';
const tmp = mkdtempSync(join(tmpdir(), 'proctriage-readme-'));
const goSkip = goUnavailable();

/** The commands of the Use section's code blocks, as written. */
function readmeCommands(section: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of section.split('\n')) {
    if (/^```/.test(line)) {
      inBlock = !inBlock;
      continue;
    }
    const m = inBlock ? /^(?:\$ )?(?:sudo )?(proctriage .*)$/.exec(line) : null;
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * The words a shell would pass to the command, up to the first unquoted comment, pipe,
 * redirection or list operator (what follows them is the shell's business, not ours).
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
      continue;
    }
    if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    const stop = (ch === '#' && word === undefined) || '|;&<>'.includes(ch) || (ch === '2' && word === undefined && line[i + 1] === '>');
    if (stop) break;
    word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  assert.equal(quote, undefined, `unbalanced quote in: ${line}`);
  return words.slice(1); // without "proctriage"
}

let nodeOpen: NodeTarget, nodeClosed: NodeTarget, replicaA: NodeTarget, replicaB: NodeTarget;
let go: { pid: number; pprof: number } | undefined;
// trace examples run on a process with few symbols (naming Node's frames takes bpftrace half a minute)
let plain: { pid: number };
let tracefs: ReturnType<typeof traceReady>;

before(async () => {
  // "payments-api" on their command lines: the README's --name example finds them
  const node = (inspect: boolean) =>
    start(process.execPath, [...(inspect ? ['--inspect=127.0.0.1:0'] : []), join(NODE_TARGETS, 'plain.cjs'), 'payments-api'], { inspect });
  [nodeOpen, nodeClosed, replicaA, replicaB] = await Promise.all([node(true), node(false), node(false), node(false)]);
  plain = await startTarget('sh', ['-c', 'echo \'{"ready":true}\'; exec sleep 600']);
  tracefs = traceReady();
  if (!goSkip) {
    const svc = await startTarget(buildService(), ['readme'], { env: serviceEnv({ LEAK: '20' }), timeoutMs: 60_000 });
    go = { pid: svc.pid, pprof: Number(svc.info.pprof) };
  }
  // the team playbook of the README's "Your own playbook"
  const yaml = /```yaml\n(schemaVersion: 1\n[\s\S]*?extends: default[\s\S]*?)```/.exec(USE)?.[1];
  assert.ok(yaml, 'the README shows a team playbook that extends the default');
  writeFileSync(join(tmp, 'team.yaml'), yaml);
});
after(async () => {
  await cleanup();
  tracefs?.release();
  rmSync(tmp, { recursive: true, force: true });
});

/** The example's PIDs, ports and URLs made real for this machine; undefined when it cannot run here. */
function realise(words: string[]): { args: string[]; skip?: string } {
  const goExample = words.some((w) => w === '--no-discover' || w === '--pprof');
  if (goExample && !go) return { args: words, skip: `a Go pprof endpoint is needed (${goSkip})` };
  const traceExample = words[0] === 'trace' || words.includes('--trace');
  if (traceExample && tracefs.unavailable) return { args: words, skip: `proctriage trace cannot run here: ${tracefs.unavailable}` };
  const main = traceExample ? plain.pid : goExample ? go!.pid : words.includes('--activate-inspector') ? nodeClosed.pid : nodeOpen.pid;
  // an example PID is a bare number that is no option's value: the first one shown is the target,
  // the next ones its replicas
  const pids = [main, replicaA.pid, replicaB.pid];
  const seen: string[] = [];
  const args = words.map((w, i) => {
    if (words[i - 1] === '--inspect' && /^\d+$/.test(w)) return String(nodeOpen.port);
    if (w === '$PID' || (/^\d+$/.test(w) && !VALUED.includes(words[i - 1] ?? ''))) {
      if (!seen.includes(w)) seen.push(w);
      const pid = pids[seen.indexOf(w)];
      assert.ok(pid, `more example PIDs than targets in: ${words.join(' ')}`);
      return String(pid);
    }
    if (words[i - 1] === '--pprof') return w.replace(/:6060\b/, `:${go!.pprof}`);
    // a trace window as short as still shows it runs: the README's are minutes of a test's time
    if (words[i - 1] === '--trace' || (words[0] === 'trace' && words[i - 1] === '--duration')) return '2s';
    return w;
  });
  if (words[0] === 'trace' && !words.includes('--duration')) args.push('--duration', '2s');
  return { args };
}

/** Options whose value may be a bare number (not a PID). */
const VALUED = ['--inspect', '--limit', '--timeout', '--interval', '--duration', '--pod', '--container'];

const USAGE =
  /unknown option|unknown command|required option|too many arguments|missing required|argument missing|is not a process id|did you mean|conflict|error: /i;

test("the README's Use section shows commands, and each of them runs", async () => {
  const commands = readmeCommands(USE);
  assert.ok(commands.length >= 20, `only ${commands.length} commands found in the Use section: the extraction is broken`);
  const skipped: string[] = [];
  for (const line of commands) {
    const words = shellWords(line);
    const { args, skip } = realise(words);
    if (skip) {
      skipped.push(`${line}: ${skip}`);
      continue;
    }
    const o: CliOptions = { cwd: tmp, timeoutMs: 60_000 };
    // watch runs for minutes as written: interrupted as Ctrl-C would, it reports what it has
    if (args[0] === 'watch') o.sigintAfterMs = 3000;
    // diff compares the snapshot of the line before with a later one ("later: snapshot again")
    if (args[0] === 'diff')
      for (const f of args.slice(1)) if (!existsSync(join(tmp, f))) await runCli(['snapshot', String(nodeOpen.pid), '-o', f], { cwd: tmp });
    // each capture line is an alternative to the one before: written into a fresh --dir
    if (args[0] === 'capture') {
      const d = args[args.indexOf('--dir') + 1];
      if (d) rmSync(join(tmp, d), { recursive: true, force: true });
    }
    const res = await runCli(args, o);
    const shown = `${line}\n  ran: proctriage ${args.join(' ')}\n  exit ${res.code} ${res.signal ?? ''}\n  stderr: ${res.stderr}`;
    assert.ok(res.code !== null && [0, 1, 2, 3].includes(res.code), shown);
    assert.doesNotMatch(res.stderr, USAGE, shown);
    assert.doesNotMatch(res.stderr, /\n\s+at /, `a stack trace: ${shown}`);
    // exit 3 is a verdict (UNKNOWN, with its report) only when something was reported
    if (res.code === 3) assert.ok(res.stdout.trim().length > 0, `exit 3 with nothing on stdout is an error, not a verdict: ${shown}`);
  }
  if (skipped.length) console.log(`# not run here:\n${skipped.map((s) => `#   ${s}`).join('\n')}`);
  assert.ok(skipped.length <= 5, skipped.join('\n'));
});

test('the extraction: prompts, quotes, comments, pipes and redirections', () => {
  assert.deepEqual(readmeCommands('x\n```sh\nproctriage 1 --json   # c\n$ proctriage top\n  proctriage indented\n```\nproctriage outside\n'), [
    'proctriage 1 --json   # c',
    'proctriage top',
  ]);
  assert.deepEqual(shellWords("proctriage --name 'payments-api'  # every process"), ['--name', 'payments-api']);
  assert.deepEqual(shellWords('proctriage "$PID" --json > triage.json 2> triage.err'), ['$PID', '--json']);
  assert.deepEqual(shellWords('proctriage 4123 --format markdown | xclip'), ['4123', '--format', 'markdown']);
  assert.deepEqual(shellWords('proctriage capture "$PID" --dir "$D" && upload "$D"'), ['capture', '$PID', '--dir', '$D']);
  assert.deepEqual(shellWords('proctriage diff a#b.json'), ['diff', 'a#b.json']);
});
