/**
 * The node probe's inspector code (connect, measure, close, the watch window), loaded only when
 * a flag asks for the inspector: a diagnosis without one loads none of it.
 */
export { Budget } from '../../src/node/attach.js';
export { connect } from '../../src/node/connect.js';
export { measure } from '../../src/node/measure.js';
export { close } from '../../src/node/close.js';
export { openWindow } from '../../src/node/window.js';
