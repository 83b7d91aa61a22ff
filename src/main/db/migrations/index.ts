// Every migration, in order. Append only: a shipped migration is never edited.
import { migration0010 } from './0010-settings';
import { migration0020 } from './0020-studies';
import { migration0030 } from './0030-models';
import { migration0040 } from './0040-drafts';
import { migration0050 } from './0050-store-packs';
import { migration0060 } from './0060-labels';
import { migration0070 } from './0070-review-queues';
import { migration0080 } from './0080-training';
import { migration0090 } from './0090-slice-thickness';
import { migration0100 } from './0100-image-stacks';
import { migration0120 } from './0120-reference-gate';
import { migration0130 } from './0130-tasks';
import { migration0150 } from './0150-input-statistics';
import { migration0180 } from './0180-task-drafts-review';
import { migration0190 } from './0190-label-set-tasks';
import { migration0200 } from './0200-cluster-training';
import { migration0210 } from './0210-pacs-labels';
import { migration0220 } from './0220-model-sharing';
import { migration0230 } from './0230-pull-jobs';
import { migration0240 } from './0240-work-owners';
import type { Migration } from './types';

export type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [
  migration0010,
  migration0020,
  migration0030,
  migration0040,
  migration0050,
  migration0060,
  migration0070,
  migration0080,
  migration0090,
  migration0100,
  migration0120,
  migration0130,
  migration0150,
  migration0180,
  migration0190,
  migration0200,
  migration0210,
  migration0220,
  migration0230,
  migration0240,
];
