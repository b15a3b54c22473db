/**
 * Test target: does nothing, prints a ready line and stays alive. Its arguments are ignored,
 * so a test can put whatever it likes on its command line (secrets, odd text).
 */
import { ready, stayAlive } from '../../../src/demo/services/common.js';
import { exitUnlessLaunched } from './launched.js';

exitUnlessLaunched('idle');

ready('idle', {});
stayAlive();
