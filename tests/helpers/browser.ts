// Debian's Chromium driven by playwright-core (no browser download is possible here).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WIRE_CONTENT_TYPE, decodeWire, encodeWire } from '../../src/shared/contract/wire';

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
 * cookie), as the renderer does; throws on an error result. The body is encoded here and
 * decoded here (MessagePack, src/shared/contract/wire.ts); the page only moves the bytes.
 */
export function pageApi(page: Page) {
  return async <T>(service: string, method: string, input?: unknown): Promise<T> => {
    const body = Array.from(encodeWire({ input }));
    const bytes = await page.evaluate(
      async ([s, m, b, type]) => {
        const res = await fetch(`/api/${s}/${m}`, { method: 'POST', headers: { 'Content-Type': type }, body: new Uint8Array(b) });
        return Array.from(new Uint8Array(await res.arrayBuffer()));
      },
      [service, method, body, WIRE_CONTENT_TYPE] as const,
    );
    const r = decodeWire(Uint8Array.from(bytes)) as { ok: boolean; value: T; error?: unknown };
    if (!r.ok) throw new Error(`${service}.${method}: ${JSON.stringify(r.error)}`);
    return r.value;
  };
}

/**
 * Screen position (page CSS pixels) of image point (x, y) of the viewer's canvas, from the
 * transform it reports in `data-transform` (zoom, pan x, pan y, pixel aspect).
 */
export async function imageToScreen(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  const canvas = page.getByTestId('viewer-canvas');
  const [zoom, panX, panY, aspect] = (await canvas.getAttribute('data-transform'))!.split(' ').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const box = (await canvas.boundingBox())!;
  return { x: box.x + panX + x * zoom, y: box.y + panY + y * zoom * aspect };
}
