import { z } from 'zod';

/**
 * The playbook: the decision tree as data. Conditions are structured (all/any/not over
 * {metric, op, value}) so nothing is ever evaluated as code.
 */
const metricKey = z.string().regex(/^[a-z][A-Za-z0-9]*(\.[A-Za-z0-9<>*]+)*$/, 'a dotted camelCase metric key');

const MetricRef = z.object({ metric: metricKey, factor: z.number().positive().default(1) }).strict();

const Comparison = z.object({
  metric: metricKey,
  op: z.enum(['>=', '>', '<=', '<', '==', '!=']),
  value: z.union([z.number(), z.string(), MetricRef]),
}).strict();

export type Condition =
  | z.infer<typeof Comparison>
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { exists: string }
  | { absent: string };

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    Comparison,
    z.object({ all: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ any: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ not: ConditionSchema }).strict(),
    z.object({ exists: metricKey }).strict(),
    z.object({ absent: metricKey }).strict(),
  ]),
);

export const Severity = z.enum(['info', 'warning', 'critical']);

export const FindingRuleSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a kebab-case finding id'),
  title: z.string().min(1),
  /** the step of the decision tree this finding answers */
  step: z.string(),
  /** metrics that must be known to judge this finding; missing ones make it "unknown" */
  requires: z.array(metricKey).default([]),
  /** first matching level wins: list the most severe first; a level's own summary says why it fired */
  levels: z.array(z.object({
    severity: Severity,
    when: ConditionSchema,
    /** what this level says, when it differs from the finding's summary */
    summary: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  }).strict()).min(1),
  /** the first template whose placeholders all fill is used (list the most informative first) */
  summary: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** metric keys (a prefix like fd.byType takes the family) or evidence keys to show */
  evidence: z.array(z.string()).default([]),
  likelyCauses: z.array(z.string()).min(1),
  nextSteps: z.array(z.string()).min(1),
  seed: z.string().min(1),
}).strict();

export const StepSchema = z.object({
  id: z.string(),
  question: z.string().min(1),
  /** what the path says when no finding of this step fired: the first template that fills */
  healthy: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** what the path says when the step cannot be judged */
  unknown: z.string().default('cannot tell: {missing} not readable'),
  /** a step whose metrics are all absent is left out of the path (e.g. the Go branch on a Node target), unless its unknown text fills from the facts */
  hideWhenUnknown: z.boolean().default(false),
  /** shown only when a warning or critical finding fired (mitigation) */
  onlyWhenFiring: z.boolean().default(false),
}).strict();

/** A team playbook may extend the built-in one: its steps and findings replace same-id ones or are added. */
export const PlaybookFileSchema = z.object({
  schemaVersion: z.literal(1),
  name: z.string().min(1),
  description: z.string().default(''),
  extends: z.literal('default').optional(),
  steps: z.array(StepSchema).default([]),
  findings: z.array(FindingRuleSchema).default([]),
}).strict();

export const PlaybookSchema = PlaybookFileSchema.omit({ extends: true }).extend({
  steps: z.array(StepSchema).min(1),
  findings: z.array(FindingRuleSchema).min(1),
}).superRefine((pb, ctx) => {
  const steps = new Set(pb.steps.map((s) => s.id));
  const seen = new Set<string>();
  pb.findings.forEach((f, i) => {
    if (seen.has(f.id)) ctx.addIssue({ code: 'custom', path: ['findings', i, 'id'], message: `duplicate finding id "${f.id}"` });
    seen.add(f.id);
    if (!steps.has(f.step)) ctx.addIssue({ code: 'custom', path: ['findings', i, 'step'], message: `unknown step "${f.step}"` });
  });
});

export type Playbook = z.infer<typeof PlaybookSchema>;
export type FindingRule = z.infer<typeof FindingRuleSchema>;
export type Step = z.infer<typeof StepSchema>;
export type SeverityLevel = z.infer<typeof Severity>;

export type Validation = { ok: true; playbook: Playbook } | { ok: false; problems: string[] };

/** What can name a metric: an exact key list, and a test for families and derived keys. */
export interface MetricRegistry {
  exact: string[];
  known(key: string): boolean;
}

/**
 * Validate parsed playbook data (merging it over `base` when it says extends: default);
 * returns the playbook or a list of "path: message" problems. With a registry, a condition or
 * `requires` on a metric nothing produces is a problem too: a misspelt key is silently never true.
 */
export function validatePlaybook(data: unknown, base?: Playbook, registry?: MetricRegistry): Validation {
  const file = PlaybookFileSchema.safeParse(data);
  if (!file.success) return { ok: false, problems: problems(file.error) };
  const { extends: ext, ...own } = file.data;
  let merged: unknown = own;
  if (ext) {
    if (!base) return { ok: false, problems: ['extends: the built-in playbook is not available'] };
    merged = { ...own, steps: mergeById(base.steps, own.steps), findings: mergeById(base.findings, own.findings) };
  }
  const r = PlaybookSchema.safeParse(merged);
  if (!r.success) return { ok: false, problems: problems(r.error) };
  const unknown = registry ? unknownMetrics(r.data, registry) : [];
  return unknown.length ? { ok: false, problems: unknown } : { ok: true, playbook: r.data };
}

/** "findings.N...: unknown metric X (did you mean Y?)" for every metric reference no probe produces. */
export function unknownMetrics(pb: Playbook, registry: MetricRegistry): string[] {
  const out: string[] = [];
  const check = (key: string, where: string) => {
    if (registry.known(key)) return;
    const near = nearest(key, registry.exact);
    out.push(`${where}: unknown metric "${key}"${near ? ` (did you mean "${near}"?)` : ''}`);
  };
  const walk = (c: Condition, where: string): void => {
    if ('all' in c) c.all.forEach((x, i) => walk(x, `${where}.all.${i}`));
    else if ('any' in c) c.any.forEach((x, i) => walk(x, `${where}.any.${i}`));
    else if ('not' in c) walk(c.not, `${where}.not`);
    else if ('exists' in c) check(c.exists, where);
    else if ('absent' in c) check(c.absent, where);
    else {
      check(c.metric, where);
      if (typeof c.value === 'object') check(c.value.metric, where);
    }
  };
  pb.findings.forEach((f, i) => {
    f.requires.forEach((k, j) => check(k, `findings.${i}.requires.${j} (${f.id})`));
    f.levels.forEach((l, j) => walk(l.when, `findings.${i}.levels.${j}.when (${f.id})`));
  });
  return out;
}

/** The closest key by edit distance, when it is close enough to be a likely typo. */
function nearest(key: string, keys: string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of keys) {
    const d = editDistance(key, k);
    if (d < bestD) { best = k; bestD = d; }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

const CONDITION_HELP = 'not a condition: use {metric, op (one of >= > <= < == !=), value}, {all: [...]}, {any: [...]}, {not: ...}, {exists: metric} or {absent: metric}';

function problems(err: z.ZodError): string[] {
  return err.issues.map((i) => {
    // a failed union says only "Invalid input": say what a condition looks like instead
    const message = i.code === 'invalid_union' && i.path.includes('when') ? CONDITION_HELP : i.message;
    return `${i.path.join('.') || '(top)'}: ${message}`;
  });
}

function mergeById<T extends { id: string }>(base: T[], own: T[]): T[] {
  const byId = new Map(own.map((x) => [x.id, x]));
  const out = base.map((x) => byId.get(x.id) ?? x);
  // new steps go before the closing mitigation step; new findings at the end
  const added = own.filter((x) => !base.some((b) => b.id === x.id));
  const at = out.findIndex((x) => x.id === 'mitigation');
  if (at >= 0) out.splice(at, 0, ...added);
  else out.push(...added);
  return out;
}
