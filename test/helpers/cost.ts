/**
 * How much larger the large input is than the small one. Four times, not twice: linear code then
 * measures about 4 and quadratic about 16, so noise that moves a ratio by half (which a loaded CI
 * machine does: linear code measured up to 3.74 for twice the input, quadratic 4) cannot make one
 * look like the other.
 */
export const GROWTH_FACTOR = 4;

/**
 * How an operation's CPU cost grows with its input: the ratio of CPU time (user + system) for
 * input GROWTH_FACTOR x N against input N. CPU time, not wall time, and each side's fastest of
 * several trials: an interruption (a GC, another process) only ever adds time, so the fastest
 * trial is the truest.
 */
export function growthRatio(run: (size: number) => void, size: number, { trials = 7, minCpuMs = 50 } = {}): number {
  const cpuMs = (fn: () => void): number => {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  run(size); // warm up: compile and allocate before anything is measured
  // Repeat the small case until it is long enough to measure; the large case repeats as often.
  let repeats = 1;
  while (cpuMs(() => run(size)) * repeats < minCpuMs && repeats < 1 << 16) repeats *= 2;
  const times = (n: number) => cpuMs(() => {
    for (let i = 0; i < repeats; i++) run(n);
  });
  let small = Infinity;
  let large = Infinity;
  for (let i = 0; i < trials; i++) {
    small = Math.min(small, times(size));
    large = Math.min(large, times(GROWTH_FACTOR * size));
  }
  return large / Math.max(small, 0.001);
}

/**
 * Above this, growth is worse than linear, halfway between on a log scale: linear code measures
 * about 4 (3.3 to 5.5 here with a soak benchmark loading the machine: cache and GC effects grow a
 * little faster than the input), quadratic 16 for large inputs (11.4 to 13.4 for small ones,
 * whose fixed costs weigh more).
 */
export const LINEAR_GROWTH_LIMIT = 8;
