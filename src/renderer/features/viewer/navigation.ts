// Opening a series from anywhere (a worklist card, the review queue) shows it in the Review view.
import { app } from '../../lib/app-state.svelte';
import { viewer } from './viewer.svelte';

export function openSeries(seriesId: number): void {
  app.view = 'review';
  void viewer.open(seriesId);
}

export function closeViewer(): void {
  viewer.close();
  app.view = 'worklist';
}
