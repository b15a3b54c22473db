/**
 * The bundled sample services: what each one gets wrong, the seed case it re-enacts, and what
 * proctriage is expected to say about it. `proctriage demo` and the end-to-end tests share this.
 */
import { BUSY_FUNCTION, BUSY_WAIT_SOURCE } from './services/busy-wait.js';

export type ExpectedStatus = 'ok' | 'warning' | 'critical';

export interface ServiceSpec {
  name: 'close-wait' | 'rotation' | 'deleted-log' | 'timer-leak' | 'busy-wait' | 'healthy';
  /** one line for the demo header */
  description: string;
  /** the incident it re-enacts, in a few words, shown after the description */
  seed: string;
  /** extra arguments for the service script */
  args: string[];
  /** start it with this RLIMIT_NOFILE (soft and hard) */
  fdLimit?: number;
  /** Node.js options of the service (an inspector on a random loopback port) */
  nodeArgs?: string[];
  /** diagnose it through the inspector it has open (--inspect) */
  inspect?: boolean;
  /** a Go program, built from this source when the demo starts (it needs the Go toolchain) */
  go?: { source: string };
  /** findings expected, and for some the function their attribution names first */
  expect: { status: ExpectedStatus; findings: { id: string; severity: 'warning' | 'critical'; attributedTo?: string }[] };
}

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'close-wait',
    description: 'a client that never closes response sockets',
    seed: 'as a payment API did with its fraud-check calls',
    args: ['--count', '150'],
    expect: { status: 'critical', findings: [{ id: 'close-wait-leak', severity: 'critical' }] },
  },
  {
    name: 'rotation',
    description: 'log rotation that never closes the previous file, under a 256-fd limit',
    seed: 'as a log ingester did with its daily files',
    args: ['--fds', '245'],
    fdLimit: 256,
    expect: {
      status: 'critical',
      findings: [
        { id: 'fd-exhaustion', severity: 'critical' },
        { id: 'file-handle-pileup', severity: 'warning' },
      ],
    },
  },
  {
    name: 'deleted-log',
    description: 'a 20 MiB log deleted while the process keeps it open',
    seed: "as a rotation race did to a service's old logs",
    args: ['--mib', '20'],
    expect: { status: 'warning', findings: [{ id: 'deleted-files-held', severity: 'warning' }] },
  },
  {
    name: 'timer-leak',
    description: 'a poller that starts an interval per upstream and never clears the old ones',
    seed: 'as tickers started in a loop and never stopped do',
    args: ['--count', '1200'],
    nodeArgs: ['--inspect=127.0.0.1:0'],
    inspect: true,
    expect: { status: 'warning', findings: [{ id: 'handle-leak', severity: 'warning', attributedTo: 'pollUpstream' }] },
  },
  {
    name: 'busy-wait',
    description: 'a Go worker that spins on a flag while it waits for a job, pinning a core',
    seed: 'as a poll loop with no wait in it does',
    args: [],
    go: { source: BUSY_WAIT_SOURCE },
    expect: { status: 'warning', findings: [{ id: 'cpu-saturation', severity: 'warning', attributedTo: BUSY_FUNCTION }] },
  },
  {
    name: 'healthy',
    description: 'a keep-alive HTTP client and server that clean up after themselves',
    seed: 'the control: no problem expected',
    args: [],
    expect: { status: 'ok', findings: [] },
  },
];

export function serviceSpec(name: string): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (!spec) throw new Error(`no sample service called "${name}"`);
  return spec;
}
