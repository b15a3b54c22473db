export type FdType = 'file' | 'socket' | 'pipe' | 'eventpoll' | 'eventfd' | 'inotify' | 'timerfd' | 'signalfd' | 'device' | 'other';

export interface FdTarget {
  type: FdType;
  inode?: number; // socket:[N], pipe:[N]
  path?: string; // regular files and devices (without the " (deleted)" suffix)
  deleted?: boolean;
}

/** Classify the link target of /proc/PID/fd/N. */
export function classifyFdLink(link: string): FdTarget {
  if (link.startsWith('socket:[')) return { type: 'socket', inode: Number(link.slice(8, -1)) };
  if (link.startsWith('pipe:[')) return { type: 'pipe', inode: Number(link.slice(6, -1)) };
  if (link.startsWith('anon_inode:')) {
    const kind = link.slice(11).replace(/^\[|\]$/g, '');
    switch (kind) {
      case 'eventpoll':
        return { type: 'eventpoll' };
      case 'eventfd':
        return { type: 'eventfd' };
      case 'inotify':
        return { type: 'inotify' };
      case 'timerfd':
        return { type: 'timerfd' };
      case 'signalfd':
        return { type: 'signalfd' };
      default:
        return { type: 'other' };
    }
  }
  // memfd files are always "(deleted)": anonymous memory, not a held log
  if (link.startsWith('/memfd:')) return { type: 'other' };
  if (link.startsWith('/')) {
    const deleted = link.endsWith(' (deleted)');
    const path = deleted ? link.slice(0, -10) : link;
    if (path.startsWith('/dev/') && !path.startsWith('/dev/shm/')) return { type: 'device', path, deleted };
    return { type: 'file', path, deleted };
  }
  return { type: 'other' };
}

/**
 * Fold the variable parts of a file name (dates, numbers, hex ids) so that
 * logs-2024-01-05.json and logs-2024-01-06.json share the pattern logs-<date>.json.
 */
export function foldFileName(path: string): string {
  // only the base name: files in different folders (shard1/, shard2/) are different groups
  const slash = path.lastIndexOf('/');
  return (
    path.slice(0, slash + 1) +
    path
      .slice(slash + 1)
      .replace(/(?<!\d)(19|20)\d{2}(-?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])([T_ -]?\d{2}[:-]?\d{2}([:-]?\d{2})?)?(?!\d)/g, '<date>')
      .replace(/\b[0-9a-f]{8,}\b/gi, '<hex>')
      .replace(/\d+/g, '<n>')
  );
}
