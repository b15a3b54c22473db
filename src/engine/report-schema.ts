import { z } from 'zod';

/**
 * The report: the JSON contract of --json, snapshots and capture bundles (schemaVersion 2: next
 * steps became { kind, text }; src/bundle/snapshot.ts reads version 1 files too).
 */
import { SCHEMA_VERSION } from './schema-version.js';
export { SCHEMA_VERSION };

const MetricValue = z.union([z.number(), z.string()]);
const SeverityEnum = z.enum(['info', 'warning', 'critical']);
const StatusEnum = z.enum(['ok', 'warning', 'critical', 'unknown']);

/** where in the code (src/engine/attribution.ts): allocation sites, hot functions, timer origins */
export const AttributionSchema = z.object({
  kind: z.enum(['allocation-sites', 'allocation-growth', 'hot-functions', 'timer-origins', 'handle-peers', 'leaked-goroutines']),
  source: z.string(),
  unit: z.enum(['bytes', 'samples', 'count', 'seconds']),
  total: z.number(),
  windowSeconds: z.number().optional(),
  sites: z.array(
    z.object({
      function: z.string(),
      file: z.string().optional(),
      line: z.number().int().optional(),
      value: z.number(),
      share: z.number(),
      cumulative: z.number().optional(),
      frames: z.array(z.string()).optional(),
    }),
  ),
  unavailable: z.string().optional(),
  hint: z.string().optional(),
});

export const FindingSchema = z.object({
  id: z.string(),
  severity: SeverityEnum,
  title: z.string(),
  summary: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  likelyCauses: z.array(z.string()),
  /** a command is what a shell runs (shown in a code block), advice is prose */
  nextSteps: z.array(z.object({ kind: z.enum(['command', 'advice']), text: z.string() })),
  seed: z.string(),
  /** the code responsible, when a runtime profile could tell (the playbook's `attribution:` keys) */
  attribution: z.array(AttributionSchema).optional(),
});

export const TrendSchema = z.object({
  perHour: z.number(),
  samples: z.number().int(),
  etaSeconds: z.number().optional(),
  limit: z.number().optional(),
  significant: z.boolean().optional(),
  shape: z.enum(['steady', 'accelerating', 'decelerating', 'levelling-off']).optional(),
  windowSeconds: z.number().optional(),
});

export const TargetSchema = z.object({
  pid: z.number().int(),
  comm: z.string(),
  cmdline: z.string(),
  runtime: z.string(),
  startedAt: z.string(),
  uptimeSeconds: z.number(),
  /** start time in clock ticks since boot: pid + startTicks identify one process across PID reuse */
  startTicks: z.number().optional(),
  /** the pid as the process sees it in its own pid namespace (a container), when it differs from pid */
  nsPid: z.number().int().optional(),
  /** the container and Kubernetes pod its cgroup names (engine 'unknown': an id in a pod whose runtime the path does not name) */
  container: z
    .object({
      engine: z.enum(['docker', 'containerd', 'cri-o', 'podman', 'systemd-nspawn', 'kubernetes', 'unknown']),
      id: z.string(),
      podUid: z.string().optional(),
      qosClass: z.enum(['guaranteed', 'burstable', 'besteffort']).optional(),
    })
    .optional(),
  metrics: z.record(z.string(), MetricValue),
  trends: z.record(z.string(), TrendSchema).optional(),
  findings: z.array(FindingSchema),
  path: z.array(z.object({ step: z.string(), question: z.string(), answer: z.string(), findings: z.array(z.string()) })),
  unknowns: z.array(z.object({ metric: z.string().optional(), probe: z.string().optional(), reason: z.string(), hint: z.string().optional() })),
  probes: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['ok', 'partial', 'denied', 'error', 'skipped']),
      durationMs: z.number(),
      error: z.string().optional(),
    }),
  ),
  /** what proctriage did to the target beyond reading (e.g. opened and closed its inspector) */
  actions: z.array(z.string()).optional(),
  /** evidence the probes collected (top peers, file groups …) that findings draw on */
  evidence: z.record(z.string(), z.unknown()).optional(),
  status: StatusEnum,
  /** why the status is unknown although nothing was found: what could not be read */
  statusReason: z.string().optional(),
  /** set when the target could not be examined at all */
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
});

export const ReportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  tool: z.object({ name: z.literal('proctriage'), version: z.string() }),
  capturedAt: z.string(),
  host: z.object({ hostname: z.string(), kernel: z.string(), cgroupVersion: z.string() }),
  status: StatusEnum,
  exitCode: z.number().int().min(0).max(3),
  redacted: z.boolean(),
  playbook: z.string(),
  targets: z.array(TargetSchema),
});

/** The JSON contract of `proctriage diff --json`: growth between two snapshots of one process. */
export const DiffReportSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  kind: z.literal('diff'),
  tool: z.object({ name: z.literal('proctriage'), version: z.string() }),
  from: z.object({ file: z.string(), capturedAt: z.string() }),
  to: z.object({ file: z.string(), capturedAt: z.string() }),
  elapsedSeconds: z.number(),
  host: z.object({ hostname: z.string() }),
  status: z.enum(['ok', 'warning', 'critical']),
  exitCode: z.number().int().min(0).max(2),
  /** how growth is judged from two points */
  method: z.string(),
  targets: z.array(
    z.object({
      pid: z.number().int(),
      comm: z.string(),
      startTicks: z.number().optional(),
      startedAt: z.string(),
      /** every numeric metric present in both snapshots */
      changes: z.array(z.object({ metric: z.string(), from: z.number(), to: z.number(), change: z.number(), perHour: z.number() })),
      trends: z.record(z.string(), TrendSchema),
      /** growth findings only: the level findings are in each snapshot */
      findings: z.array(FindingSchema),
      status: z.enum(['ok', 'warning', 'critical']),
    }),
  ),
});

/** manifest.json of a capture bundle (src/bundle/bundle.ts): checked before any other file is read. */
export const ManifestSchema = z.object({
  kind: z.literal('proctriage-capture'),
  schemaVersion: z.number().int().min(1),
  tool: z.object({ name: z.literal('proctriage'), version: z.string() }),
  capturedAt: z.string(),
  host: z.object({ hostname: z.string(), kernel: z.string(), cgroupVersion: z.string() }),
  pid: z.number().int().min(1),
  startTicks: z.number().optional(),
  comm: z.string(),
  redacted: z.boolean(),
  notes: z.array(z.string()),
  files: z.record(
    z.string(),
    z.object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      bytes: z.number().int().min(0),
      symlink: z.string().optional(),
    }),
  ),
});
