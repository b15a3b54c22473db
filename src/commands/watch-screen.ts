import type { ChalkInstance } from 'chalk';
import { renderLive, renderProgressLine } from '../render/live.js';
import { liveState, type Progress, type SampleOptions, type Watched } from '../engine/watch.js';
import type { OutputOptions } from './options.js';
import type { Limits } from '../engine/playbook-schema.js';

/** Progress on stderr: a live view redrawn in place on a terminal, plain lines otherwise. */
export class Screen implements Progress {
  private drawn = 0;
  private cursorHidden = false;

  private constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly c: ChalkInstance,
    private readonly limits: Limits,
  ) {}

  static async open(o: OutputOptions, out: NodeJS.WriteStream, limits: Limits): Promise<Screen> {
    const tty = !!out.isTTY && process.env.TERM !== 'dumb';
    const color = tty && o.color !== false && !('NO_COLOR' in process.env);
    const { Chalk } = await import('chalk'); // only watch draws with it: loaded here, not at start
    return new Screen(out, tty, new Chalk({ level: color ? 1 : 0 }), limits);
  }

  update(w: Watched, so: SampleOptions, elapsedMs: number): void {
    const state = liveState(w, so, elapsedMs, this.limits);
    if (!this.tty) {
      this.out.write(renderProgressLine(state));
      return;
    }
    if (!this.cursorHidden) {
      this.out.write('\x1b[?25l');
      this.cursorHidden = true;
    }
    const text = renderLive(state, { c: this.c, width: this.out.columns, eta: this.limits.eta });
    // move to the start of the previous frame and clear it, then draw the new one
    this.out.write((this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '') + text);
    this.drawn = text.split('\n').length - 1;
  }

  warn(msg: string): void {
    this.out.write(`proctriage: ${msg}\n`);
    this.drawn = 0;
  }

  finish(note?: string): void {
    if (note) this.out.write(`proctriage: ${note}\n`);
    this.restore();
  }

  restore(): void {
    if (this.cursorHidden) {
      this.out.write('\x1b[?25h');
      this.cursorHidden = false;
    }
  }
}
