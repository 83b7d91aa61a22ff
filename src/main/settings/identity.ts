// Who is at the workstation, for every label, decision, export and PACS push (issue 21, item 7):
// the name set in Settings, else the operating-system account, so no row is ever anonymous and
// the review log and the export log never name two different people for one reader.
import os from 'node:os';
import type { Settings } from '../../shared/contract';

/** The operating-system account name; '' where the platform has none (os.userInfo throws). */
export function osUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

/** The name recorded as author and actor: Settings → Your name, else the OS account, else "unknown user". */
export function userIdentity(settings: Pick<Settings, 'userName'>): string {
  return settings.userName.trim() || osUserName() || 'unknown user';
}
