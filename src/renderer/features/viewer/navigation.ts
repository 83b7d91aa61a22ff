// Opening a series from anywhere (a worklist card, the review queue) shows it in the Review view.
import { app } from '../../lib/app-state.svelte';
import { viewer } from './viewer.svelte';

/** Shows a series in the Review view, on slice `index` (0-based; default the middle one). */
export function openSeries(seriesId: number, index?: number): void {
  app.view = 'review';
  void viewer.open(seriesId, index);
}

export function closeViewer(): void {
  viewer.close();
  app.view = 'worklist';
}
