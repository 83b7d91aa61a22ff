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

interface Logger {
  setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
}

const requireCjs = createRequire(import.meta.url);

export const dcmjs = requireCjs('dcmjs') as Dcmjs;

// dcmjs logs every odd VR and, when reading past damage, a stack trace, to the console of
// whatever process imports it. The reader reports what matters in `repairs` and its errors;
// raw console noise during a 2,000-file import helps no one. Errors still print.
dcmjs.log.setLevel('error');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');
