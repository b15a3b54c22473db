import { z } from 'zod';

/**
 * The JSON contract of `proctriage trace --json` (schema/trace.schema.json is generated from it).
 * Target strings (functions, files, paths, peers) are cleaned of control characters, and
 * redacted unless --no-redact.
 */
export const TRACE_SCHEMA_VERSION = 1;

export const TraceFrameSchema = z.object({
  address: z.string(),
  /** native: a named function; jit / interpreter: frames of a runtime this tool cannot name; unknown: no symbol */
  kind: z.enum(['native', 'jit', 'interpreter', 'unknown']),
  function: z.string().optional(),
  offset: z.number().int().optional(),
  module: z.string().optional(),
  file: z.string().optional(),
  line: z.number().int().optional(),
});

export const TraceGroupSchema = z.object({
  /** descriptors this stack opened in the window and still open at its end */
  outstanding: z.number().int(),
  /** descriptors this stack opened in the window */
  opened: z.number().int(),
  /** opened and closed in the window */
  closed: z.number().int(),
  /** outstanding (churn: opened) per second of the window */
  ratePerSecond: z.number(),
  /** the type of its last descriptor, when still open (file, socket, pipe, …) */
  fdType: z.string().optional(),
  /** that descriptor's path or socket peer */
  example: z.string().optional(),
  /** the stack stops in libc: its callers are lost */
  truncated: z.boolean(),
  frames: z.array(TraceFrameSchema),
});

export const TraceReportSchema = z.object({
  schemaVersion: z.literal(TRACE_SCHEMA_VERSION),
  kind: z.literal('trace'),
  tool: z.object({ name: z.literal('proctriage'), version: z.string() }),
  generatedAt: z.string(),
  redacted: z.boolean(),
  target: z.object({ pid: z.number().int(), comm: z.string(), runtime: z.enum(['native', 'go', 'node', 'java', 'python']) }),
  window: z.object({
    requestedSeconds: z.number(),
    seconds: z.number(),
    endedBy: z.enum(['duration', 'exit', 'cap', 'interrupt', 'deadline']),
  }),
  exited: z.boolean(),
  totals: z.object({
    events: z.number().int(),
    opened: z.number().int(),
    outstanding: z.number().int(),
    /** descriptors open at the end (undefined when the table could not be read) */
    openAtEnd: z.number().int().optional(),
    /** of those, opened before the window: not attributable */
    predating: z.number().int().optional(),
  }),
  /** ranked by outstanding count */
  outstanding: z.array(TraceGroupSchema),
  /** stacks whose descriptors were all closed again, ranked by opened */
  churn: z.array(TraceGroupSchema),
  notes: z.array(z.object({ code: z.string(), text: z.string() })),
});

export type TraceFrame = z.infer<typeof TraceFrameSchema>;
export type TraceGroup = z.infer<typeof TraceGroupSchema>;
export type TraceReport = z.infer<typeof TraceReportSchema>;
