import { describe, expect, it } from 'vitest';
import type { ViewId } from '../../lib/app-state.svelte';
import { formatRoute, parseRoute as parse } from './route';

const VIEWS: ViewId[] = ['worklist', 'review', 'training', 'models', 'settings'];
const parseRoute = (hash: string) => parse(hash, VIEWS);

describe('routes', () => {
  it('names the view, and in Review the series and 1-based slice, and reads them back', () => {
    expect(formatRoute({ view: 'worklist' })).toBe('#/worklist');
    expect(formatRoute({ view: 'review', seriesId: 12, slice: 4 })).toBe('#/review/series/12/slice/4');
    expect(formatRoute({ view: 'settings', seriesId: 12, slice: 4 })).toBe('#/settings');
    expect(parseRoute('#/review/series/12/slice/4')).toEqual({ view: 'review', seriesId: 12, slice: 4 });
    expect(parseRoute('#/review/series/12')).toEqual({ view: 'review', seriesId: 12 });
    expect(parseRoute('#/models')).toEqual({ view: 'models' });
    for (const bad of ['', '#', '#/nowhere', '#/review/series/x', '#/review/series/1/slice/0x'])
      expect(parseRoute(bad), bad).toBeNull();
    expect(parseRoute('#/review/series/3/slice/0')).toEqual({ view: 'review', seriesId: 3 });
  });
});
