// types only: the schema module loads zod, which the diagnosis must not pay for
import type { Condition, FindingRule, NextStepRule, Playbook, SeverityLevel } from './playbook-schema.js';
import type { Metrics } from './probe.js';
import { formatValue } from './format.js';
import { isAttribution, type Attribution } from './attribution.js';

/** A command is what a shell runs; advice is prose. */
export interface NextStep {
  kind: 'command' | 'advice';
  text: string;
}

export interface Finding {
  id: string;
  severity: SeverityLevel;
  title: string;
  summary: string;
  evidence: Record<string, unknown>;
  likelyCauses: string[];
  nextSteps: NextStep[];
  seed: string;
  attribution?: Attribution[];
}

export interface PathStep {
  step: string;
  question: string;
  answer: string;
  findings: string[];
}

export interface Facts {
  pid: number;
  metrics: Metrics;
  evidence: Record<string, unknown>;
}

const RANK: Record<SeverityLevel, number> = { info: 0, warning: 1, critical: 2 };

/** A playbook's next step as the report carries it, placeholders not yet filled. */
export function nextStepOf(s: NextStepRule): { kind: 'command' | 'advice'; text: string } {
  if (typeof s === 'string') return { kind: 'advice', text: s };
  return 'command' in s ? { kind: 'command', text: s.command } : { kind: 'advice', text: s.advice };
}

/** Walk the playbook's decision tree over one target's facts. Pure. */
export function evaluate(playbook: Playbook, facts: Facts): { findings: Finding[]; path: PathStep[] } {
  const findings: Finding[] = [];
  const path: PathStep[] = [];
  for (const step of playbook.steps) {
    const rules = playbook.findings.filter((f) => f.step === step.id);
    const fired: Finding[] = [];
    const missing = new Set<string>();
    let judged = 0;
    for (const rule of rules) {
      const absent = rule.requires.filter((k) => !(k in facts.metrics));
      if (absent.length) {
        absent.forEach((k) => missing.add(k));
        continue;
      }
      judged++;
      const level = rule.levels.find((l) => holds(l.when, facts.metrics, playbook.limits.explosion));
      if (level) fired.push(raise(rule, level, facts));
    }
    fired.sort((a, b) => RANK[b.severity] - RANK[a.severity]);
    findings.push(...fired);
    if (step.onlyWhenFiring && !findings.some((f) => f.severity !== 'info')) continue;
    // left out where it does not apply; kept where its unknown text has something to say (too few samples)
    if (!fired.length && !judged && rules.length && step.hideWhenUnknown && fill(step.unknown, facts) === undefined) continue;
    // a step is never answered "no" on data it does not have
    const unknown = (keys: Iterable<string>) => fill(step.unknown, facts, { missing: [...keys].join(', ') }) ?? step.unknown;
    let answer: string;
    if (fired.length) answer = 'yes: ' + fired.map((f) => `${f.id} (${f.severity})`).join(', ');
    else if (!judged && rules.length) answer = unknown(missing);
    else {
      const healthy = [step.healthy]
        .flat()
        .map((t) => fill(t, facts))
        .find((a) => a !== undefined);
      answer = healthy ?? unknown(placeholders([step.healthy].flat()[0] ?? '', facts));
    }
    path.push({ step: step.id, question: step.question, answer, findings: fired.map((f) => f.id) });
  }
  findings.sort((a, b) => RANK[b.severity] - RANK[a.severity]);
  return { findings, path };
}

function raise(rule: FindingRule, level: FindingRule['levels'][number], facts: Facts): Finding {
  const evidence: Record<string, unknown> = {};
  for (const key of rule.evidence) {
    if (key in facts.metrics) evidence[key] = facts.metrics[key];
    else if (key in facts.evidence) evidence[key] = facts.evidence[key];
    else {
      const family = Object.entries(facts.metrics).filter(([k]) => k.startsWith(key + '.'));
      if (family.length) evidence[key] = Object.fromEntries(family.map(([k, v]) => [k.slice(key.length + 1), v]));
    }
  }
  const attribution = rule.attribution.map((k) => facts.evidence[k]).filter(isAttribution);
  return {
    id: rule.id,
    severity: level.severity,
    title: rule.title,
    summary: summarize([level.summary ?? rule.summary].flat(), facts),
    evidence,
    likelyCauses: rule.likelyCauses.map((c) => fill(c, facts)).filter((c): c is string => c !== undefined),
    // a next step whose placeholders cannot be filled would be a broken command: leave it out
    nextSteps: rule.nextSteps.map(nextStepOf).flatMap(({ kind, text }) => {
      const filled = fill(text, facts);
      return filled === undefined ? [] : [{ kind, text: filled }];
    }),
    seed: rule.seed,
    ...(attribution.length ? { attribution } : {}),
  };
}

/**
 * The first summary that fills completely; failing all, the last one with what is known filled
 * in and "?" for the rest (a summary is prose, never show raw {placeholders}).
 */
function summarize(templates: string[], facts: Facts): string {
  for (const t of templates) {
    const s = fill(t, facts);
    if (s !== undefined) return s;
  }
  // the schema gives every summary at least one template
  return (templates.at(-1) ?? '').replace(/\{[^{}]+\}/g, (p) => fill(p, facts) ?? '?');
}

/**
 * The `askable` metrics (absent, but a probe could measure them on demand) that a verdict hinges
 * on: for each rule that can be judged, those its levels cannot be decided without, up to the
 * first level that holds anyway (the first that holds is the one raised, so later levels cannot
 * change it). Pure.
 */
export function hingesOn(playbook: Playbook, metrics: Metrics, askable: Set<string>): Set<string> {
  const asked = new Set<string>();
  for (const rule of playbook.findings) {
    if (rule.requires.some((k) => !(k in metrics))) continue;
    for (const level of rule.levels) {
      const d = decide(level.when, metrics, playbook.limits.explosion, askable);
      if (d === true) break;
      if (d === undefined) for (const k of askableIn(level.when, askable)) asked.add(k);
    }
  }
  return asked;
}

/** A condition as true, false, or undefined when it turns on an askable metric. */
function decide(cond: Condition, metrics: Metrics, limits: Record<string, number>, askable: Set<string>): boolean | undefined {
  if ('all' in cond || 'any' in cond) {
    const parts = ('all' in cond ? cond.all : cond.any).map((c) => decide(c, metrics, limits, askable));
    const settles = 'all' in cond ? false : true;
    if (parts.includes(settles)) return settles;
    return parts.includes(undefined) ? undefined : !settles;
  }
  if ('not' in cond) {
    const d = decide(cond.not, metrics, limits, askable);
    return d === undefined ? undefined : !d;
  }
  if (askableIn(cond, askable).size) return undefined;
  return holds(cond, metrics, limits);
}

/** The askable metrics a condition reads. */
function askableIn(cond: Condition, askable: Set<string>): Set<string> {
  if ('all' in cond) return new Set(cond.all.flatMap((c) => [...askableIn(c, askable)]));
  if ('any' in cond) return new Set(cond.any.flatMap((c) => [...askableIn(c, askable)]));
  if ('not' in cond) return askableIn(cond.not, askable);
  const keys =
    'exists' in cond
      ? [cond.exists]
      : 'absent' in cond
        ? [cond.absent]
        : [cond.metric, typeof cond.value === 'object' && 'metric' in cond.value ? cond.value.metric : undefined];
  return new Set(keys.filter((k): k is string => k !== undefined && askable.has(k)));
}

/** Evaluate a condition; a comparison on an absent metric (or limit) is false. */
export function holds(cond: Condition, metrics: Metrics, limits: Record<string, number> = {}): boolean {
  if ('all' in cond) return cond.all.every((c) => holds(c, metrics, limits));
  if ('any' in cond) return cond.any.some((c) => holds(c, metrics, limits));
  if ('not' in cond) return !holds(cond.not, metrics, limits);
  if ('exists' in cond) return cond.exists in metrics;
  if ('absent' in cond) return !(cond.absent in metrics);
  const left = metrics[cond.metric];
  if (left === undefined) return false;
  let right: number | string;
  if (typeof cond.value === 'object') {
    const ref = 'limit' in cond.value ? limits[cond.value.limit] : metrics[cond.value.metric];
    if (typeof ref !== 'number') return false;
    right = ref * (cond.value.factor ?? 1);
  } else right = cond.value;
  switch (cond.op) {
    case '==':
      return left === right;
    case '!=':
      return left !== right;
  }
  if (typeof left !== 'number' || typeof right !== 'number') return false;
  switch (cond.op) {
    case '>=':
      return left >= right;
    case '>':
      return left > right;
    case '<=':
      return left <= right;
    case '<':
      return left < right;
  }
}

/**
 * Fill "{key}" / "{key:fmt}" placeholders from pid, metrics and evidence (with path walking,
 * e.g. {sockets.closeWait.peers.0.endpoint}). Returns undefined if any placeholder is unresolvable.
 */
export function fill(template: string, facts: Facts, extra: Record<string, unknown> = {}): string | undefined {
  let ok = true;
  const out = template.replace(/\{([A-Za-z0-9_.<>*-]+)(?::([a-z]+))?\}/g, (_, key: string, fmt?: string) => {
    const v = resolve(key, facts, extra);
    if (v === undefined || v === null || v === '') {
      ok = false;
      return '';
    }
    return formatValue(v, fmt);
  });
  return ok ? out : undefined;
}

/** The metric keys of a template that cannot be filled. */
function placeholders(template: string, facts: Facts): string[] {
  return [...template.matchAll(/\{([A-Za-z0-9_.<>*-]+)(?::[a-z]+)?\}/g)].flatMap(([, k]) =>
    k !== undefined && resolve(k, facts, {}) === undefined ? [k] : [],
  );
}

function resolve(key: string, facts: Facts, extra: Record<string, unknown>): unknown {
  if (key === 'pid') return String(facts.pid);
  if (key in extra) return extra[key];
  const parts = key.split('.');
  for (let i = parts.length; i > 0; i--) {
    const head = parts.slice(0, i).join('.');
    let v: unknown = head in facts.metrics ? facts.metrics[head] : facts.evidence[head];
    if (v === undefined) continue;
    for (const p of parts.slice(i)) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[p];
    }
    return v;
  }
  return undefined;
}

export function worst(severities: SeverityLevel[]): SeverityLevel | undefined {
  return severities.reduce<SeverityLevel | undefined>((w, s) => (w === undefined || RANK[s] > RANK[w] ? s : w), undefined);
}
