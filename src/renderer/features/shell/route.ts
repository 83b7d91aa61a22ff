// Where the reader is, as an address: the view, and in Review the open series and slice, so a
// reload or a bookmark returns there. Hash routes, which work alike for the Electron window's
// own files and the headless server: #/worklist, #/review/series/12/slice/4.
import type { ViewId } from '../../lib/app-state.svelte';

export interface Route {
  view: ViewId;
  seriesId?: number;
  /** 1-based, as the overlay shows it ("Im 4 / 12"). */
  slice?: number;
}

export function formatRoute(r: Route): string {
  if (r.view !== 'review' || r.seriesId === undefined) return `#/${r.view}`;
  return `#/review/series/${r.seriesId}${r.slice !== undefined ? `/slice/${r.slice}` : ''}`;
}

/** The route an address names, among the app's `views`; null for an empty or unknown one. */
export function parseRoute(hash: string, views: readonly ViewId[]): Route | null {
  const m = /^#\/([a-z]+)(?:\/series\/(\d{1,15})(?:\/slice\/(\d{1,6}))?)?\/?$/.exec(hash);
  const view = views.find((v) => v === m?.[1]);
  if (!m || !view) return null;
  if (view !== 'review' || !m[2]) return { view };
  return { view, seriesId: Number(m[2]), ...(m[3] && Number(m[3]) > 0 ? { slice: Number(m[3]) } : {}) };
}
