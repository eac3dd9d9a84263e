/**
 * How an operation's CPU cost grows with its input: the ratio of CPU time (user + system) for
 * input 2N against input N. Linear code gives about 2, quadratic about 4. CPU time, not wall
 * time, and each side's fastest of several trials: an interruption (a GC, another process) only
 * ever adds time, so the fastest trial is the truest.
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
    large = Math.min(large, times(2 * size));
  }
  return large / Math.max(small, 0.001);
}

/**
 * Above this, growth is worse than linear: quadratic code measures about 4. Linear code measures
 * 2 to 2.9 on this kind of machine, with tails to 3.3 in CI runs (a regex over a 100 KB string,
 * a list of 64K chunks: cache and GC effects that grow a little faster than the input).
 */
export const LINEAR_GROWTH_LIMIT = 3.5;
