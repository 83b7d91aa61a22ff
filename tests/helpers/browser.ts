// Debian's Chromium driven by playwright-core (no browser download is possible here).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.LGMS_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set LGMS_CHROMIUM).`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

/**
 * Calls the contract from inside the page, through the page's own authorised session (its
 * cookie), as the renderer does; throws on an error result.
 */
export function pageApi(page: Page) {
  return async <T>(service: string, method: string, input?: unknown): Promise<T> => {
    const r = (await page.evaluate(
      async ([s, m, i]) =>
        (
          await fetch(`/api/${s}/${m}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ input: i }),
          })
        ).json(),
      [service, method, input] as const,
    )) as { ok: boolean; value: T; error?: unknown };
    if (!r.ok) throw new Error(`${service}.${method}: ${JSON.stringify(r.error)}`);
    return r.value;
  };
}
