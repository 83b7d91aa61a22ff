// Every migration, in order. Append only: a shipped migration is never edited.
import { migration0010 } from './0010-settings';
import type { Migration } from './types';

export type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [migration0010];
