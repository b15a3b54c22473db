/**
 * Test target: opens /dev/null as many times as its first argument says, holds the fds, prints a
 * ready line and stays alive. Started several times with different counts it makes replicas
 * (one command line, numbers folded) that differ only in their fds.
 */
import { openSync } from 'node:fs';
import { ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('fd-holder');

const n = Math.min(Number(process.argv[2] ?? 0) || 0, 5000);
const fds = Array.from({ length: n }, () => openSync('/dev/null', 'r'));
ready('fd-holder', { fds: fds.length });
stayAlive();
