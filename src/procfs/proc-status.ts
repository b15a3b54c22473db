import { ParseError } from '../errors.js';

export type ProcStatus = Record<string, string>;

/** /proc/PID/status: "Key:\tvalue" lines. */
export function parseProcStatus(text: string): ProcStatus {
  const out: ProcStatus = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  if (!('Name' in out) && !('Pid' in out)) throw new ParseError('/proc/PID/status', 'no Name or Pid line');
  return out;
}

/** A "VmRSS:  1234 kB" value in bytes, or undefined when the key is absent (kernel threads). */
export function statusBytes(status: ProcStatus, key: string): number | undefined {
  const v = status[key];
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*kB$/.exec(v);
  if (!m) throw new ParseError('/proc/PID/status', `${key} is not "N kB"`);
  return Number(m[1]) * 1024;
}

export function statusNumber(status: ProcStatus, key: string): number | undefined {
  const v = status[key];
  if (v === undefined) return undefined;
  const n = Number(v.split(/\s+/)[0]);
  if (!Number.isFinite(n)) throw new ParseError('/proc/PID/status', `${key} is not a number`);
  return n;
}

/** Signal masks (SigCgt, SigBlk …) are hex; bit (sig-1) set means the signal is in the set. */
export function hasSignal(status: ProcStatus, key: 'SigCgt' | 'SigBlk' | 'SigIgn', signal: number): boolean {
  const hex = status[key];
  if (!hex || !/^[0-9a-fA-F]+$/.test(hex)) throw new ParseError('/proc/PID/status', `${key} missing or not hex`);
  return ((BigInt('0x' + hex) >> BigInt(signal - 1)) & 1n) === 1n;
}

/** The PID as seen inside the target's own PID namespace (last NSpid field). */
export function innermostPid(status: ProcStatus): number | undefined {
  const ns = status.NSpid?.split(/\s+/);
  return ns && ns.length ? Number(ns[ns.length - 1]) : undefined;
}
