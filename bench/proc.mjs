// proc.mjs — what the benchmarks read about a process they started, from /proc.

import { readFileSync } from 'node:fs';

/** The process's resident memory in MiB: `VmHWM` (the peak) or `VmRSS` (now); 0 if gone. */
export function rssMiB(pid, which = 'VmHWM') {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${which}:\\s+(\\d+) kB`).exec(s)[1]) / 1024;
  } catch {
    return 0;
  }
}
