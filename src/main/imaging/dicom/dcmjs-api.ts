// The slice of dcmjs we use, typed here because dcmjs ships no declarations. Loaded with
// createRequire rather than an ambient `declare module`, so this folder adds no global types
// that another feature's own dcmjs typing could collide with.
import { createRequire } from 'node:module';

export type DcmjsDict = Record<string, { vr: string; Value?: unknown[] }>;

interface DicomDict {
  meta: DcmjsDict;
  dict: DcmjsDict;
}

interface ReadOptions {
  ignoreErrors?: boolean;
  untilTag?: string | null;
  includeUntilTagValue?: boolean;
  noCopy?: boolean;
}

interface Dcmjs {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict };
    DicomMetaDictionary: { naturalizeDataset(dict: DcmjsDict): Record<string, unknown> };
  };
  log: Logger & { getLogger(name: string): Logger };
}

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

interface Logger {
  setLevel(level: Level | number, persist?: boolean): void;
  getLevel(): number;
}

const requireCjs = createRequire(import.meta.url);

export const dcmjs = requireCjs('dcmjs') as Dcmjs;

// dcmjs logs every odd VR and, when reading past damage, a stack trace, to the console of
// whatever process imports it. The reader reports what matters in `repairs` and its errors;
// raw console noise during a 2,000-file import helps no one. Errors still print.
dcmjs.log.setLevel('error');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

/**
 * Runs a dcmjs read with its log silenced. Reading a damaged file, dcmjs prints errors such as
 * "Invalid length for fixed length tag, vr AS, length 4 != 2" to the process's stderr while it
 * reads on (issue 23 item 7): the reader reports what matters as repairs or a reason of its own,
 * and a raw library line on the console helps no one. dcmjs' writers (exports) keep their log.
 */
export function readQuietly<T>(read: () => T): T {
  const level = dcmjs.log.getLevel();
  dcmjs.log.setLevel('silent', false);
  try {
    return read();
  } finally {
    dcmjs.log.setLevel(level, false);
  }
}
