// Child entry for one in-process phase: node bench/lib/phase.mjs <name> '<json args>'.
// Prints the phase's result as one JSON line, with its own peak RSS (VmHWM) in peakRssMb and its
// CPU time (process.cpuUsage(), µs) in phaseCpuUs.
import { readFileSync } from 'node:fs';
import { ingestRun, rebuild, sustained, timelineReads, verify } from './phases.mjs';

const [name, json] = process.argv.slice(2);
const args = JSON.parse(json ?? '{}');
const phases = {
  ingest: () => ingestRun({ ...args, kind: 'ours' }),
  peer: () => ingestRun({ ...args, kind: 'peer' }),
  sustained: () => sustained(args),
  rebuild: () => rebuild(args),
  verify: () => verify(args),
  timeline: () => timelineReads(args),
};
if (!phases[name]) throw new Error(`unknown phase ${name}`);
// The phase's whole CPU time (user + system, every thread of the process), so each figure can
// be given in CPU µs per event whatever the phase measures itself.
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await phases[name]();
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - t0;
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
process.stdout.write(`${JSON.stringify({ ...result, phaseCpuUs: cpu.user + cpu.system, phaseWallMs: wallMs, peakRssMb: peakKb / 1024 })}\n`);
process.exit(0);
