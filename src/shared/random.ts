// Seeded pseudo-random numbers for statistics (the gate's bootstrap) and for tests that must
// replay a failure: no Math.random.

/** Mulberry32 (Tommy Ettinger's 32-bit generator): uniform in [0, 1), one 32-bit state. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
