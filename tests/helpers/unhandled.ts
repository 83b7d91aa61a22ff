// Errors nobody awaited: what a service throws from a callback or a floating promise after the
// database it writes to has closed ("The database connection is not open").

/**
 * Runs `body`, then waits `settleMs` more, and returns the message of every unhandled rejection
 * and uncaught exception seen meanwhile (in the order they came).
 */
export async function unhandledDuring(body: () => Promise<void>, settleMs: number): Promise<string[]> {
  const seen: string[] = [];
  const onError = (e: unknown) => seen.push(e instanceof Error ? e.message : String(e));
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  try {
    await body();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  }
  return seen;
}
