/**
 * CPU seconds spent by this process, by the PostgreSQL backends serving this process's connections
 * (plus the shared WAL writer, checkpointer and background writer), and by the whole machine
 * (Linux /proc; elsewhere, or against a remote database, the Postgres figures are NaN). Backends of
 * other sessions on the same server are left out, so a neighbour's test run does not inflate our
 * figures; it shows up as foreign load instead.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuSample {
  self: number;
  /** Per Postgres pid (ours and the auxiliary processes): CPU seconds so far. */
  postgres: Map<number, number>;
  /** Busy CPU seconds of the whole machine (all cores). */
  machine: number;
}

export interface CpuUsed {
  self: number;
  postgres: number;
  machine: number;
}

function machineSeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * The local TCP ports of a process's sockets (its connections to PostgreSQL among them), from /proc;
 * empty when the process is gone or not ours to read.
 */
export function portsOf(pid: number | 'self'): Set<number> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return new Set();
  }
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    // sl local_address rem_address st queues tr retrnsmt uid timeout inode ...
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]!)) ports.add(parseInt(cols[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

function postgresTicks(): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[];
  let ports: Set<number>;
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    ports = portsOf('self');
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const port = /\((\d+)\)/.exec(title);
      const auxiliary = /writer|checkpointer/.test(title);
      if (!auxiliary && !(port && ports.has(Number(port[1])))) continue;
      // After ")": state is field 3; utime and stime are fields 14 and 15.
      const fields = stat.slice(close + 2).split(' ');
      out.set(Number(pid), (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
    } catch {
      // the process went away between readdir and read
    }
  }
  return out;
}

export function cpuSample(): CpuSample {
  const u = process.cpuUsage();
  return { self: (u.user + u.system) / 1e6, postgres: postgresTicks(), machine: machineSeconds() };
}

/** CPU seconds used since `start` (a backend that exited in between is missed: pools keep theirs). */
export function cpuSince(start: CpuSample): CpuUsed {
  const now = cpuSample();
  let postgres = 0;
  for (const [pid, seconds] of now.postgres) postgres += seconds - (start.postgres.get(pid) ?? 0);
  if (now.postgres.size === 0) postgres = NaN;
  return { self: now.self - start.self, postgres, machine: now.machine - start.machine };
}
