/**
 * The one error model. Every expected failure is a ProctriageError with a stable code;
 * only the CLI layer turns it into a one-line message and an exit code.
 */
import { errnoWords, ERRNO_WORDS, say } from './messages.js';

export type ErrorCode =
  | 'NO_SUCH_PROCESS'
  | 'ZOMBIE_PROCESS'
  | 'KERNEL_THREAD'
  | 'ACCESS_DENIED'
  | 'TIMEOUT'
  | 'PARSE_ERROR'
  | 'TARGET_UNREACHABLE'
  | 'PLAYBOOK_INVALID'
  | 'SNAPSHOT_INVALID'
  | 'USAGE'
  | 'REFUSED'
  // a bug in proctriage (a TypeError in a probe …): never a fact about the target
  | 'INTERNAL'
  // files the user named: to write, or read
  | 'FILE_EXISTS'
  | 'FILE_NOT_REGULAR'
  | 'FILE_TOO_LARGE'
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'WRITE_FAILED';

export class ProctriageError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NoSuchProcess extends ProctriageError {
  /** path: the file whose absence was taken for the process being gone */
  constructor(
    readonly pid: number,
    readonly path?: string,
  ) {
    super('NO_SUCH_PROCESS', `pid ${pid}: no such process`);
  }
}
export class ZombieProcess extends ProctriageError {
  constructor(
    readonly pid: number,
    ppid?: number,
  ) {
    super(
      'ZOMBIE_PROCESS',
      `pid ${pid} is a zombie: it has exited and holds no resources`,
      ppid ? `its parent (pid ${ppid}) has not reaped it; look at the parent` : undefined,
    );
  }
}
export class KernelThread extends ProctriageError {
  constructor(
    readonly pid: number,
    comm: string,
  ) {
    super('KERNEL_THREAD', `pid ${pid} (${comm}) is a kernel thread: it has no user-space resources to diagnose`);
  }
}
export class AccessDenied extends ProctriageError {
  constructor(readonly path: string) {
    super('ACCESS_DENIED', `access denied: ${path}`, say('hint.sameUser'));
  }
}
export class TimeoutExpired extends ProctriageError {
  constructor(what: string, ms: number) {
    super('TIMEOUT', `${what} did not answer within ${ms} ms`);
  }
}
export class ParseError extends ProctriageError {
  constructor(what: string, detail: string) {
    super('PARSE_ERROR', `cannot parse ${what}: ${detail}`);
  }
}
export class TargetUnreachable extends ProctriageError {
  constructor(what: string, detail: string, hint?: string) {
    super('TARGET_UNREACHABLE', `${what}: ${detail}`, hint);
  }
}
export class PlaybookInvalid extends ProctriageError {
  constructor(file: string, detail: string) {
    super('PLAYBOOK_INVALID', `playbook ${file} is invalid: ${detail}`);
  }
}
export class SnapshotInvalid extends ProctriageError {
  constructor(file: string, detail: string) {
    super('SNAPSHOT_INVALID', `${file}: ${detail}`);
  }
}
export class UsageError extends ProctriageError {
  constructor(message: string, hint?: string) {
    super('USAGE', message, hint);
  }
}
export class Refused extends ProctriageError {
  constructor(message: string, hint?: string) {
    super('REFUSED', message, hint);
  }
}

export type FileErrorCode = 'FILE_EXISTS' | 'FILE_NOT_REGULAR' | 'FILE_TOO_LARGE' | 'FILE_NOT_FOUND' | 'FILE_UNREADABLE' | 'WRITE_FAILED';
/** A file the user named could not be written or read safely (see src/files.ts). */
export class FileError extends ProctriageError {
  constructor(code: FileErrorCode, message: string, hint?: string) {
    super(code, message, hint);
  }
}
/** The path named a directory where a file was expected. */
export class IsDirectory extends FileError {
  constructor(message: string) {
    super('FILE_NOT_REGULAR', message);
  }
}

/** A bug in proctriage, not a fact about the target: keeps the original error (and its stack) as cause. */
export class InternalError extends ProctriageError {
  constructor(
    readonly where: string,
    override readonly cause: unknown,
  ) {
    super('INTERNAL', `internal error in ${where}: ${describe(cause)}`, 'a bug in proctriage: PROCTRIAGE_DEBUG=1 shows its stack');
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Whatever a probe or the runner threw, as the error model has it: an I/O failure the code did
 * not map (an errno from a system call) keeps its message; any other unexpected throw is a bug.
 */
export function asProctriageError(err: unknown, where: string): ProctriageError {
  if (err instanceof ProctriageError) return err;
  if (isSystemError(err)) return new ProctriageError('PARSE_ERROR', err.message);
  return new InternalError(where, err);
}

export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** Map a Node fs error on a /proc path to our model; rethrow anything unexpected. */
/** An fs or process error as words: "permission denied", never a bare "EACCES"; unknown codes keep Node's message. */
export function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  if (e?.code && ERRNO_WORDS[e.code]) return errnoWords(e.code);
  // Node's own message ("EACCES: permission denied, open '/x'") without the code and the call
  return (e?.message ?? String(err)).replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '') || (e?.code ?? 'failed');
}

export function fromFsError(err: unknown, path: string, pid?: number): ProctriageError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') {
    return pid !== undefined ? new NoSuchProcess(pid, path) : new ProctriageError('NO_SUCH_PROCESS', `${path}: not found`);
  }
  if (code === 'EACCES' || code === 'EPERM') return new AccessDenied(path);
  if (err instanceof ProctriageError) return err;
  return new ProctriageError('PARSE_ERROR', `${path}: ${errnoText(err)}`);
}
