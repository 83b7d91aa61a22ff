// What a test's code prints: every line written to this process's stdout and stderr while it runs.

/**
 * Runs `fn` and returns every line written to this process's stdout and stderr meanwhile: the
 * import worker's console reaches them through Node's worker stdio forwarding.
 */
export async function capturingOutput(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write.bind(s));
  streams.forEach((s, i) => {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return (originals[i] as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof s.write;
  });
  try {
    await fn();
    // A worker's last lines arrive after its exit message: let them through.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    streams.forEach((s, i) => (s.write = originals[i] as typeof s.write));
  }
  return lines;
}
