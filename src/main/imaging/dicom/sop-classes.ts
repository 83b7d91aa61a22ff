// SOP classes that carry no image for the segmentation pipeline, and how we file them.
import type { NonImageCategory } from './types';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';

interface SopClass {
  name: string;
  category: NonImageCategory;
}

const EXACT: Record<string, SopClass> = {
  [MEDIA_STORAGE_DIRECTORY]: { name: 'Media Storage Directory (DICOMDIR)', category: 'dicomdir' },
  '1.2.840.10008.5.1.4.1.1.481.3': { name: 'RT Structure Set Storage', category: 'rt-structure-set' },
  '1.2.840.10008.5.1.4.1.1.481.5': { name: 'RT Plan Storage', category: 'rt-plan' },
  '1.2.840.10008.5.1.4.1.1.481.8': { name: 'RT Ion Plan Storage', category: 'rt-plan' },
  '1.2.840.10008.5.1.4.1.1.481.4': { name: 'RT Beams Treatment Record Storage', category: 'rt-treatment-record' },
  '1.2.840.10008.5.1.4.1.1.481.6': { name: 'RT Brachy Treatment Record Storage', category: 'rt-treatment-record' },
  '1.2.840.10008.5.1.4.1.1.481.7': { name: 'RT Treatment Summary Record Storage', category: 'rt-treatment-record' },
  '1.2.840.10008.5.1.4.1.1.481.9': { name: 'RT Ion Beams Treatment Record Storage', category: 'rt-treatment-record' },
  '1.2.840.10008.5.1.4.1.1.88.59': { name: 'Key Object Selection Document Storage', category: 'key-object-selection' },
  '1.2.840.10008.5.1.4.1.1.104.1': { name: 'Encapsulated PDF Storage', category: 'encapsulated-document' },
  '1.2.840.10008.5.1.4.1.1.104.2': { name: 'Encapsulated CDA Storage', category: 'encapsulated-document' },
  '1.2.840.10008.5.1.4.1.1.104.3': { name: 'Encapsulated STL Storage', category: 'encapsulated-document' },
  '1.2.840.10008.5.1.4.1.1.66': { name: 'Raw Data Storage', category: 'raw-data' },
  '1.2.840.10008.5.1.4.1.1.66.1': { name: 'Spatial Registration Storage', category: 'registration' },
  '1.2.840.10008.5.1.4.1.1.66.3': { name: 'Deformable Spatial Registration Storage', category: 'registration' },
  '1.2.840.10008.5.1.4.1.1.66.2': { name: 'Spatial Fiducials Storage', category: 'registration' },
};

// Families by UID prefix: every member shares the category.
const PREFIXES: [string, SopClass][] = [
  ['1.2.840.10008.5.1.4.1.1.88.', { name: 'Structured Report', category: 'structured-report' }],
  ['1.2.840.10008.5.1.4.1.1.9.', { name: 'Waveform', category: 'waveform' }],
  ['1.2.840.10008.5.1.4.1.1.11.', { name: 'Presentation State', category: 'presentation-state' }],
];

// Image classes, only to name them when a file of one arrives without pixels.
const IMAGE_NAMES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.1': 'CR Image Storage',
  '1.2.840.10008.5.1.4.1.1.1.1': 'Digital X-Ray Image Storage',
  '1.2.840.10008.5.1.4.1.1.1.2': 'Digital Mammography X-Ray Image Storage',
  '1.2.840.10008.5.1.4.1.1.2': 'CT Image Storage',
  '1.2.840.10008.5.1.4.1.1.2.1': 'Enhanced CT Image Storage',
  '1.2.840.10008.5.1.4.1.1.3.1': 'Ultrasound Multi-frame Image Storage',
  '1.2.840.10008.5.1.4.1.1.4': 'MR Image Storage',
  '1.2.840.10008.5.1.4.1.1.4.1': 'Enhanced MR Image Storage',
  '1.2.840.10008.5.1.4.1.1.6.1': 'Ultrasound Image Storage',
  '1.2.840.10008.5.1.4.1.1.7': 'Secondary Capture Image Storage',
  '1.2.840.10008.5.1.4.1.1.12.1': 'X-Ray Angiographic Image Storage',
  '1.2.840.10008.5.1.4.1.1.20': 'Nuclear Medicine Image Storage',
  '1.2.840.10008.5.1.4.1.1.128': 'PET Image Storage',
  '1.2.840.10008.5.1.4.1.1.481.1': 'RT Image Storage',
  '1.2.840.10008.5.1.4.1.1.481.2': 'RT Dose Storage',
};

export function describeNonImage(sopClassUid: string): SopClass {
  const exact = EXACT[sopClassUid];
  if (exact) return exact;
  for (const [prefix, sop] of PREFIXES) if (sopClassUid.startsWith(prefix)) return sop;
  const image = IMAGE_NAMES[sopClassUid];
  if (image) return { name: `${image} object`, category: 'other' };
  return { name: sopClassUid ? 'SOP class' : 'object without a SOP Class UID', category: 'other' };
}

/** Whether the SOP class is an image storage class: an object of it without Pixel Data is damaged. */
export function isImageStorage(sopClassUid: string): boolean {
  return IMAGE_NAMES[sopClassUid] !== undefined;
}

/**
 * Whether `uid` is a UID as PS3.5 §9.1 writes one: 64 characters at most, components of digits
 * separated by single dots, none with a leading zero. A damaged one is never echoed in a reason.
 */
export function isUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= 64 && /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/.test(uid);
}
