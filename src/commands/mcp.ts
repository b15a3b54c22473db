/**
 * `proctriage mcp`: a Model Context Protocol server on stdio. Four read-only tools over the same
 * builders as the CLI (buildReport, topReport, watchReport, playbookFor). Nothing that signals or
 * pauses a target is reachable from here (no inspector activation, heap snapshot, diagnostic
 * report or capture), and redaction stays on. Only protocol messages go to stdout; anything else
 * (a bug's stack under PROCTRIAGE_DEBUG) goes to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { z } from 'zod';
import { ReportSchema } from '../engine/report-schema.js';
import { PlaybookSchema } from '../engine/playbook-schema.js';
import type { Report } from '../engine/report.js';
import type { Progress } from '../engine/watch.js';
import { CachingProcFs } from '../bundle/procfs.js';
import { ProcFs } from '../procfs/procfs.js';
import { clean } from '../engine/redact.js';
import { ProctriageError, UsageError } from '../errors.js';
import { assertConnectAllowed, parseInspectAddress } from '../transports/inspector.js';
import { checkPprofUrl, parsePprofUrl } from '../transports/pprof.js';
import { VERSION } from '../version.js';
import { buildReport } from './diagnose.js';
import { parseDuration, parsePid } from './options.js';
import { playbookFor } from './playbooks.js';
import { runOptions } from './run-options.js';
import { topReport } from './top.js';
import { watchReport, watchTiming } from './watch.js';
import { exportSelection } from '../render/risk.js';
import { count } from '../messages.js';

/** Bounds of what a client may ask for: a tool call holds the client's request open. */
export const MCP_BOUNDS = {
  timeoutMs: 60_000,
  watchMinIntervalMs: 250,
  watchMaxDurationMs: 5 * 60_000,
  maxPids: 64,
  maxTopLimit: 200,
} as const;

const fmtMs = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

// the CLI's parsers inside zod schemas: a refusal is the CLI's own one-line message
const Pid = z
  .number()
  .int()
  .positive({ abort: true })
  .superRefine((n, ctx) => {
    try {
      parsePid(String(n));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  })
  .describe('a process id');

function duration(what: string, minMs: number, maxMs: number, example: string) {
  return z
    .string()
    .superRefine((s, ctx) => {
      try {
        const ms = parseDuration(s, what);
        if (ms < minMs || ms > maxMs) ctx.addIssue({ code: 'custom', message: `${what} ${s} is out of range: ${fmtMs(minMs)} to ${fmtMs(maxMs)}` });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .describe(`a duration such as ${example} (ms, s, m), ${fmtMs(minMs)} to ${fmtMs(maxMs)}`);
}

const Runtimes = {
  inspect: z
    .union([z.string(), z.literal(true)])
    .optional()
    .describe(
      'Node.js: also probe through the inspector at this loopback address ([host:]port or ws:// URL), or true to use one the target already has open; an inspector is never opened',
    ),
  pprof: z.string().optional().describe('Go: also probe through this loopback net/http/pprof URL'),
  timeout: duration('timeout', 1, MCP_BOUNDS.timeoutMs, '10s').optional().describe('overall deadline, 10s unless told (at most 1m)'),
};

// strict: an argument no tool has (activateInspector, heapSnapshot, report, redact …) is refused, not ignored
export const DiagnoseArgs = z.strictObject({
  pids: z.array(Pid).min(1).max(MCP_BOUNDS.maxPids).optional().describe('process ids to diagnose'),
  name: z.string().min(1).max(1024).optional().describe('or: every process whose command name or command line matches this RE2 regular expression'),
  ...Runtimes,
});
export const TopArgs = z.strictObject({
  limit: z.number().int().min(1).max(MCP_BOUNDS.maxTopLimit).optional().describe('how many of the riskiest processes to return (15 unless told)'),
  container: z.string().max(128).optional().describe('only the processes of this container (a prefix of its id)'),
  pod: z.string().max(36).optional().describe('only the processes of this Kubernetes pod (a prefix of its uid)'),
});
export const WatchArgs = z.strictObject({
  pid: Pid,
  interval: duration('interval', MCP_BOUNDS.watchMinIntervalMs, MCP_BOUNDS.watchMaxDurationMs, '2s')
    .optional()
    .describe('time between samples, 2s unless told'),
  duration: duration('duration', MCP_BOUNDS.watchMinIntervalMs, MCP_BOUNDS.watchMaxDurationMs, '30s')
    .optional()
    .describe('how long to watch, 30s unless told (at most 5m)'),
  ...Runtimes,
});
export const PlaybookShowArgs = z.strictObject({});

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface McpOptions {
  /** --host-root: the host's / mounted here */
  hostRoot?: string;
  /** the team playbook the operator started the server with (diagnose, watch, playbook_show) */
  playbook?: string;
}

/** `proctriage mcp`: serve until the client closes stdin. */
export async function run(o: McpOptions = {}): Promise<number> {
  await playbookFor(o.playbook); // a bad --playbook is the operator's error, said before serving
  const server = new McpServer({ name: 'proctriage', version: VERSION });
  const ended = new AbortController();
  const annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false };

  server.registerTool(
    'diagnose',
    {
      title: 'Diagnose processes',
      description:
        'Classified diagnosis of resource leaks (file descriptors, sockets, cgroup memory, Node.js and Go runtimes) of running Linux processes, by pid or by name. Read-only: nothing is sent to the targets.',
      inputSchema: DiagnoseArgs,
      outputSchema: ReportSchema,
      annotations,
    },
    (a) =>
      answer(async () => {
        checkAddresses(a);
        const report = await buildReport((a.pids ?? []).map(String), {
          ...(o.hostRoot ? { hostRoot: o.hostRoot } : {}),
          ...(a.name !== undefined ? { name: a.name } : {}),
          ...runtimeOptions(a),
          ...(o.playbook ? { playbook: o.playbook } : {}),
        });
        return reportResult(report);
      }),
  );

  server.registerTool(
    'top',
    {
      title: 'Riskiest processes',
      description:
        'Rank every process on the host by risk (fd, memory and thread use against their limits, CLOSE_WAIT) with /proc-level probes, and return the riskiest.',
      inputSchema: TopArgs,
      outputSchema: ReportSchema,
      annotations,
    },
    (a) =>
      answer(async () => {
        const { report, playbook } = await topReport({
          proc: new ProcFs(o.hostRoot ?? '/', { live: true }),
          ...(a.container !== undefined ? { container: a.container } : {}),
          ...(a.pod !== undefined ? { pod: a.pod } : {}),
        });
        const scanned = report.targets.length;
        report.targets = exportSelection(report, { limit: a.limit ?? 15, risk: playbook.weights.risk, always: [] });
        return reportResult(report, { skipInfo: true, scanned });
      }),
  );

  server.registerTool(
    'watch',
    {
      title: 'Watch one process',
      description:
        'Sample one process at a fixed rate for a bounded time (at most 5 minutes), measure the growth of its resources (slopes, time to exhaustion) and diagnose it with them. Sends progress notifications when the request carries a progress token.',
      inputSchema: WatchArgs,
      outputSchema: ReportSchema,
      annotations,
    },
    (a, extra) =>
      answer(async () => {
        checkAddresses(a);
        const pid = parsePid(String(a.pid));
        const { intervalMs, durationMs } = watchTiming(a.interval ?? '2s', a.duration ?? '30s');
        const opts = runOptions(runtimeOptions(a), new CachingProcFs(o.hostRoot), await playbookFor(o.playbook));
        const ui = progress(extra);
        const { report, note } = await watchReport(pid, opts, {
          intervalMs,
          durationMs,
          signal: AbortSignal.any([extra.signal, ended.signal]),
          ...(ui ? { ui } : {}),
        });
        await ui?.sent();
        if (!report) throw new UsageError(`stopped before the first sample: nothing to report${note ? ` (${note})` : ''}`);
        return reportResult(report);
      }),
  );

  server.registerTool(
    'playbook_show',
    {
      title: 'Show the playbook',
      description: 'The decision tree proctriage diagnoses with: its steps, each finding with its severity, thresholds and source.',
      inputSchema: PlaybookShowArgs,
      outputSchema: PlaybookSchema,
      annotations: { ...annotations, idempotentHint: true },
    },
    () =>
      answer(async () => {
        const pb = await playbookFor(o.playbook);
        const findings = pb.findings.map((f) => `${f.id} (${[...new Set(f.levels.map((l) => l.severity))].join('/')}): ${f.title}`);
        const text = [`playbook ${pb.name}: ${count(pb.steps.length, 'step')}, ${count(findings.length, 'finding')}`, ...findings].join('\n');
        return { structuredContent: JSON.parse(JSON.stringify(pb)) as Record<string, unknown>, content: [{ type: 'text', text }] };
      }),
  );

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
    // the client ends the session by closing our stdin: stop any watch, then close
    process.stdin.once('end', () => {
      ended.abort();
      void server.close();
    });
    process.stdin.once('close', () => {
      ended.abort();
      void server.close();
    });
  });
  await server.connect(transport);
  await closed;
  return 0;
}

type RuntimeArgs = { inspect?: string | true | undefined; pprof?: string | undefined; timeout?: string | undefined };

/** Only the runtime addresses and the deadline reach the run options: never activation, heavy tools or --no-redact. */
function runtimeOptions(a: RuntimeArgs): { inspect?: string; pprof?: string; timeout?: string } {
  return {
    // bare --inspect is `true` on the command line too (commander); the probe options take both
    ...(a.inspect !== undefined ? { inspect: a.inspect as string } : {}),
    ...(a.pprof !== undefined ? { pprof: a.pprof } : {}),
    ...(a.timeout !== undefined ? { timeout: a.timeout } : {}),
  };
}

/** A non-loopback address is refused before anything is read (no --allow-remote or --trust-peer here). */
function checkAddresses(a: RuntimeArgs): void {
  if (typeof a.inspect === 'string') assertConnectAllowed(parseInspectAddress(a.inspect), false);
  if (a.pprof !== undefined) checkPprofUrl(parsePprofUrl(a.pprof), false);
}

/** The report as structured content and a few lines of text; a report of nothing but errors is a tool error. */
function reportResult(report: Report, o: SummaryOptions = {}): CallToolResult {
  if (report.targets.length && report.targets.every((t) => t.error)) {
    throw new UsageError(report.targets.map((t) => t.error!.message).join('; '));
  }
  return { structuredContent: report, content: [{ type: 'text', text: summary(report, o).join('\n') }] };
}

interface SummaryOptions {
  /** top: info findings would drown the warnings */
  skipInfo?: boolean;
  /** top: how many processes were ranked */
  scanned?: number;
}

/** The status line, then one line per target that is unknown or failed and one per finding. */
export function summary(report: Report, o: SummaryOptions = {}): string[] {
  const n = report.targets.length;
  const what = o.scanned !== undefined ? `the ${n} riskiest of ${o.scanned} processes` : count(n, 'process', 'processes');
  const lines = [`${report.status.toUpperCase()}: ${what} (playbook ${report.playbook})`];
  for (const t of report.targets) {
    if (t.error) lines.push(`pid ${t.pid}: ${t.error.message}`);
    else if (t.statusReason) lines.push(`pid ${t.pid} ${t.comm}: unknown: ${t.statusReason}`);
    for (const f of t.findings) if (!(o.skipInfo && f.severity === 'info')) lines.push(`pid ${t.pid} ${t.comm}: ${f.severity} ${f.id}: ${f.summary}`);
  }
  return lines.map((l) => clean(l).replace(/\s*\n\s*/g, ' '));
}

/**
 * Progress notifications for a client that asked for them (a watch can outlast its request timeout).
 * `sent` settles once every notification is out: the result must not overtake the last one, or
 * the client no longer knows its token.
 */
function progress(extra: Extra): (Progress & { sent(): Promise<void> }) | undefined {
  const token = extra._meta?.progressToken;
  if (token === undefined) return undefined;
  let chain: Promise<void> = Promise.resolve();
  return {
    update: (w, so, elapsedMs) => {
      chain = chain
        .then(() =>
          extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: Math.min(elapsedMs, so.durationMs), total: so.durationMs, message: count(w.samples.length, 'sample') },
          }),
        )
        .catch(() => undefined);
    },
    warn: (msg) => process.stderr.write(`proctriage: ${msg}\n`),
    sent: () => chain,
  };
}

/** Every refusal or failure becomes a one-line tool error; the server stays up. */
async function answer(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof ProctriageError ? err.message : `internal error: ${(err as Error)?.message ?? String(err)}`;
    if (!(err instanceof ProctriageError) && process.env.PROCTRIAGE_DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    return { isError: true, content: [{ type: 'text', text: clean(message).replace(/\s*\n\s*/g, ' ') }] };
  }
}
