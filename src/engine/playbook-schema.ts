import { z } from 'zod';

/**
 * The playbook: the decision tree as data. Conditions are structured (all/any/not over
 * {metric, op, value}) so nothing is ever evaluated as code.
 */
const metricKey = z.string().regex(/^[a-z][A-Za-z0-9]*(\.[A-Za-z0-9<>*]+)*$/, 'a dotted camelCase metric key');

const MetricRef = z.object({ metric: metricKey, factor: z.number().positive().default(1) }).strict();
/** a number of the playbook's own `limits.explosion`, so a finding and the trend that runs into it share one value */
const LimitRef = z.object({ limit: metricKey, factor: z.number().positive().default(1) }).strict();

const Comparison = z
  .object({
    metric: metricKey,
    op: z.enum(['>=', '>', '<=', '<', '==', '!=']),
    value: z.union([z.number(), z.string(), MetricRef, LimitRef]),
  })
  .strict();

export type Condition = z.infer<typeof Comparison> | { all: Condition[] } | { any: Condition[] } | { not: Condition } | { exists: string } | { absent: string };

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

/**
 * A next step says what it is: `command: "…"` is what a shell runs (the views put it in a code
 * block), `advice: …` is prose. A bare string is advice: prose shown as prose is never run by a paste.
 */
export const NextStepRuleSchema = z.union([
  z.string().min(1),
  z.object({ command: z.string().min(1) }).strict(),
  z.object({ advice: z.string().min(1) }).strict(),
]);
export type NextStepRule = z.infer<typeof NextStepRuleSchema>;

export const FindingRuleSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'a kebab-case finding id'),
    title: z.string().min(1),
    /** the step of the decision tree this finding answers */
    step: z.string(),
    /** metrics that must be known to judge this finding; missing ones make it "unknown" */
    requires: z.array(metricKey).default([]),
    /** first matching level wins: list the most severe first; a level's own summary says why it fired */
    levels: z
      .array(
        z
          .object({
            severity: Severity,
            when: ConditionSchema,
            /** what this level says, when it differs from the finding's summary */
            summary: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
          })
          .strict(),
      )
      .min(1),
    /** the first template whose placeholders all fill is used (list the most informative first) */
    summary: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** metric keys (a prefix like fd.byType takes the family) or evidence keys to show */
    evidence: z.array(z.string()).default([]),
    /** evidence keys holding an Attribution (src/engine/attribution.ts): the code responsible, shown in this order */
    attribution: z.array(metricKey).default([]),
    likelyCauses: z.array(z.string()).min(1),
    nextSteps: z.array(NextStepRuleSchema).min(1),
    seed: z.string().min(1),
  })
  .strict();

/**
 * What the code relies on a step for, so renaming a step cannot silently change what it does:
 * growth (its findings are what diff reports), localised (replicas compared), mitigation (the
 * closing step: new steps of a team playbook go before it).
 */
export const StepRole = z.enum(['growth', 'localised', 'mitigation']);

export const StepSchema = z
  .object({
    id: z.string(),
    role: StepRole.optional(),
    question: z.string().min(1),
    /** what the path says when no finding of this step fired: the first template that fills */
    healthy: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    /** what the path says when the step cannot be judged */
    unknown: z.string().default('cannot tell: {missing} not readable'),
    /** a step whose metrics are all absent is left out of the path (e.g. the Go branch on a Node target), unless its unknown text fills from the facts */
    hideWhenUnknown: z.boolean().default(false),
    /** shown only when a warning or critical finding fired (mitigation) */
    onlyWhenFiring: z.boolean().default(false),
  })
  .strict();

const count = z.number().positive();

/** The numbers the engine and the views judge by, beside the findings' own thresholds. */
const LimitsSchema = z
  .object({
    /**
     * counts the runtime puts no ceiling on (Node handles, goroutines): the explosion threshold
     * stands in as the limit their growth runs into; findings name it as { limit: <key> }
     */
    explosion: z.record(metricKey, count),
    /** growth shape: the later half's slope against the earlier half's (under: decelerating, over: accelerating) */
    shape: z.object({ decelerating: z.number().positive().max(1), accelerating: z.number().min(1) }).strict(),
    /** several targets: fewer replicas than `min` tell no odd one out; a difference under a floor is noise */
    replicas: z.object({ min: z.number().int().min(2), floors: z.record(metricKey, z.number().nonnegative()) }).strict(),
    /** the watch screen colours a time to the limit under `critical` seconds red, under `warning` yellow */
    eta: z.object({ critical: count, warning: count }).strict(),
  })
  .strict();

const WeightsSchema = z
  .object({
    /** proctriage top: the riskiest target is the one nearest a limit; CLOSE_WAIT has none, this many counts as at it */
    risk: z.object({ closeWaitAtLimit: count }).strict(),
  })
  .strict();

/**
 * What a playbook that says nothing about limits and weights gets (the built-in one states the
 * same values, checked by a test): a team playbook written before these existed keeps working.
 */
export const DEFAULT_LIMITS: z.infer<typeof LimitsSchema> = {
  explosion: { 'node.handles.total': 10_000, 'go.goroutines': 100_000 },
  shape: { decelerating: 1 / 3, accelerating: 2 },
  replicas: {
    min: 3,
    floors: { 'fd.open': 100, 'memory.rss': 100 * 2 ** 20, threads: 50, 'sockets.tcp.total': 100, 'sockets.tcp.closeWait': 10 },
  },
  eta: { critical: 86_400, warning: 604_800 },
};
export const DEFAULT_WEIGHTS: z.infer<typeof WeightsSchema> = { risk: { closeWaitAtLimit: 100 } };

/** Any part of a section: what a file says is laid over the defaults (or over the playbook it extends). */
const partialOf = <T extends z.ZodObject>(s: T) =>
  z.object(Object.fromEntries(Object.entries(s.shape).map(([k, v]) => [k, (v instanceof z.ZodObject ? v.partial() : (v as z.ZodType)).optional()]))).strict();

/** A team playbook may extend the built-in one: its steps and findings replace same-id ones or are added. */
export const PlaybookFileSchema = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    description: z.string().default(''),
    extends: z.literal('default').optional(),
    limits: partialOf(LimitsSchema).optional(),
    weights: partialOf(WeightsSchema).optional(),
    steps: z.array(StepSchema).default([]),
    findings: z.array(FindingRuleSchema).default([]),
  })
  .strict();

export const PlaybookSchema = PlaybookFileSchema.omit({ extends: true })
  .extend({
    limits: LimitsSchema,
    weights: WeightsSchema,
    steps: z.array(StepSchema).min(1),
    findings: z.array(FindingRuleSchema).min(1),
  })
  .superRefine((pb, ctx) => {
    pb.steps.forEach((s, i) => {
      if (s.role && pb.steps.findIndex((x) => x.role === s.role) !== i)
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'role'], message: `a second step with role "${s.role}"` });
    });
    pb.findings.forEach((f, i) =>
      f.levels.forEach((l, j) =>
        eachComparison(l.when, (c) => {
          if (typeof c.value === 'object' && 'limit' in c.value && !(c.value.limit in pb.limits.explosion)) {
            ctx.addIssue({ code: 'custom', path: ['findings', i, 'levels', j, 'when'], message: `no limits.explosion."${c.value.limit}"` });
          }
        }),
      ),
    );
    const steps = new Set(pb.steps.map((s) => s.id));
    const seen = new Set<string>();
    pb.findings.forEach((f, i) => {
      if (seen.has(f.id)) ctx.addIssue({ code: 'custom', path: ['findings', i, 'id'], message: `duplicate finding id "${f.id}"` });
      seen.add(f.id);
      if (!steps.has(f.step)) ctx.addIssue({ code: 'custom', path: ['findings', i, 'step'], message: `unknown step "${f.step}"` });
    });
  });

export type Playbook = z.infer<typeof PlaybookSchema>;
export type Limits = Playbook['limits'];
export type Weights = Playbook['weights'];
export type Comparison = z.infer<typeof Comparison>;

export function eachComparison(c: Condition, visit: (c: Comparison) => void): void {
  if ('all' in c) c.all.forEach((x) => eachComparison(x, visit));
  else if ('any' in c) c.any.forEach((x) => eachComparison(x, visit));
  else if ('not' in c) eachComparison(c.not, visit);
  else if (!('exists' in c) && !('absent' in c)) visit(c);
}

/** The step a role names, if the playbook has one. */
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
  if (ext && !base) return { ok: false, problems: ['extends: the built-in playbook is not available'] };
  const under = ext && base ? base : { limits: DEFAULT_LIMITS, weights: DEFAULT_WEIGHTS };
  let merged: unknown = { ...own, limits: overlay(under.limits, own.limits), weights: overlay(under.weights, own.weights) };
  if (ext && base) {
    // a team file that names one id twice is refused before merging, which would keep only the last
    const twice = [
      ...duplicates(own.steps.map((x) => x.id)).map((id) => `steps: duplicate step id "${id}"`),
      ...duplicates(own.findings.map((x) => x.id)).map((id) => `findings: duplicate finding id "${id}"`),
    ];
    if (twice.length) return { ok: false, problems: twice };
    merged = { ...(merged as object), steps: mergeSteps(base.steps, own.steps), findings: mergeById(base.findings, own.findings) };
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
      if (typeof c.value === 'object' && 'metric' in c.value) check(c.value.metric, where);
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
  let best: string | undefined,
    bestD = Infinity;
  for (const k of keys) {
    const d = editDistance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    // j stays within 1..b.length: prev has b.length + 1 cells, cur gets cell j - 1 before j
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const CONDITION_HELP =
  'not a condition: use {metric, op (one of >= > <= < == !=), value}, {all: [...]}, {any: [...]}, {not: ...}, {exists: metric} or {absent: metric}';

function problems(err: z.ZodError): string[] {
  return err.issues.map((i) => {
    // a failed union says only "Invalid input": say what a condition looks like instead
    const message = i.code === 'invalid_union' && i.path.includes('when') ? CONDITION_HELP : i.message;
    return `${i.path.join('.') || '(top)'}: ${message}`;
  });
}

/** Same-id entries replaced, new ones added at the end. */
function duplicates(ids: string[]): string[] {
  return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}

function mergeById<T extends { id: string }>(base: T[], own: T[]): T[] {
  const byId = new Map(own.map((x) => [x.id, x]));
  return [...base.map((x) => byId.get(x.id) ?? x), ...own.filter((x) => !base.some((b) => b.id === x.id))];
}

/** As mergeById, but new steps go before the closing (mitigation) step. */
function mergeSteps(base: Step[], own: Step[]): Step[] {
  const out = mergeById(base, own);
  const added = own.filter((x) => !base.some((b) => b.id === x.id));
  const at = out.findIndex((x) => x.role === 'mitigation');
  if (at < 0 || !added.length) return out;
  const kept = out.slice(0, out.length - added.length);
  return [...kept.slice(0, at), ...added, ...kept.slice(at)];
}

/** Sections of `own` laid over `base`, one level deep (a section's records too): what is not said is kept. */
function overlay<T extends Record<string, unknown>>(base: T, own: Record<string, unknown> | undefined): T {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(own ?? {})) {
    const b = base[k];
    out[k] = isPlain(v) && isPlain(b) ? overlayRecord(b, v) : v;
  }
  return out as T;
}

function overlayRecord(b: Record<string, unknown>, v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...b };
  for (const [k, x] of Object.entries(v)) out[k] = isPlain(x) && isPlain(b[k]) ? { ...(b[k] as object), ...x } : x;
  return out;
}

const isPlain = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
