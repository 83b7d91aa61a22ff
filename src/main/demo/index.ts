// Demo data for the workstation: phantom breast ultrasound images with exact lesion masks, as
// PNG image/mask pairs (a training set) or as DICOM studies (something to import and segment).

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AnatomyKind } from './anatomy';
import { demoUid, phantomToDicom } from './dicom';
import { generatePhantom, type Phantom } from './phantom';
import { hashInts, hashLabel } from './prng';
import { encodeGrayPng } from '../imaging/raster/png-encoder';
import type { Domain } from './scanner';
import { THYROID_LABELS } from './thyroid';
import { writeFileAtomic } from './write-atomic';

export { generatePhantom } from './phantom';
export type { Phantom, PhantomMeta, PhantomOptions } from './phantom';
export type { Domain } from './scanner';
export { DOMAINS } from './scanner';
export type { AnatomyKind } from './anatomy';
export { encodeGrayPng, encodePng } from '../imaging/raster/png-encoder';
export { demoUid, phantomToDicom, readDicom } from './dicom';
export { renderPreview } from './preview';
export { THYROID_LABELS } from './thyroid';
export { writeFileAtomic } from './write-atomic';
export { CT_LABELS, HU_RANGES, createCtPhantom } from './ct';
export type { CtPhantom, CtPhantomMeta, CtPhantomOptions, CtSlice } from './ct';
export { ctSliceToDicom, writeCtPhantomSeries } from './ct-series';
export type { CtSeriesOptions, CtSeriesResult } from './ct-series';

export const GENERATOR = 'lgms-demo-phantom';
export const GENERATOR_VERSION = 1;

export interface PngPairsOptions {
  count: number;
  seed: number;
  domain?: Domain;
  /** Width = height, a multiple of 32 (default 256). */
  size?: number;
  anatomy?: AnatomyKind | 'mixed';
  /** First index (default 0): lets a caller extend a set without rewriting it. */
  start?: number;
}

export interface PngPairItem {
  name: string;
  image: string;
  mask: string;
  /** Thyroid only: labels/<name>.png, the structures' label map (values of THYROID_LABELS). */
  labelMap?: string;
  index: number;
  anatomy: AnatomyKind;
  lesionKind: string;
  weakContrast: boolean;
  areaPx: number;
  bbox: [number, number, number, number];
  pixelSpacingMm: [number, number];
}

export interface PngPairsResult {
  outDir: string;
  datasetJson: string;
  items: PngPairItem[];
}

function checkCount(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${v}`);
}

/**
 * outDir/images/<name>.png (8-bit grey), outDir/masks/<name>.png (0 / 255) and outDir/dataset.json;
 * for thyroid phantoms also outDir/labels/<name>.png, the label map of the drawn structures
 * (pixel = label value: 1 lobe, 2 trachea, 3 carotid artery, 4 jugular vein, 0 background).
 */
export async function writePngPairs(outDir: string, opts: PngPairsOptions): Promise<PngPairsResult> {
  const { count, seed } = opts;
  const domain = opts.domain ?? 'base';
  const size = opts.size ?? 256;
  const start = opts.start ?? 0;
  checkCount('count', count, 1_000_000);
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  await mkdir(path.join(outDir, 'masks'), { recursive: true });
  const items: PngPairItem[] = [];
  for (let index = start; index < start + count; index++) {
    const p = generatePhantom({ seed, index, domain, width: size, height: size, anatomy: opts.anatomy ?? 'breast' });
    const name = `phantom_${domain}_s${seed}_${String(index).padStart(5, '0')}`;
    const image = `images/${name}.png`;
    const mask = `masks/${name}.png`;
    const mask255 = p.mask.map((v) => (v ? 255 : 0));
    await writeFileAtomic(path.join(outDir, image), encodeGrayPng(p.width, p.height, p.image));
    await writeFileAtomic(path.join(outDir, mask), encodeGrayPng(p.width, p.height, mask255));
    let labelMap: string | undefined;
    if (p.labelMap) {
      labelMap = `labels/${name}.png`;
      await mkdir(path.join(outDir, 'labels'), { recursive: true });
      await writeFileAtomic(path.join(outDir, labelMap), encodeGrayPng(p.width, p.height, p.labelMap));
    }
    const m = p.meta;
    items.push({
      name,
      image,
      mask,
      ...(labelMap ? { labelMap } : {}),
      index,
      anatomy: m.anatomy,
      lesionKind: m.lesion.kind,
      weakContrast: m.lesion.weakContrast,
      areaPx: m.lesion.areaPx,
      bbox: m.lesion.bbox,
      pixelSpacingMm: m.pixelSpacingMm,
    });
  }
  const datasetJson = path.join(outDir, 'dataset.json');
  const description = {
    name: `LGMS demo phantom (${domain} domain)`,
    description:
      'Synthetic breast-ultrasound-like images with one hypoechoic lesion each and its exact mask. ' +
      'Not real patients; for demos, tests and smoke-training only.',
    generator: GENERATOR,
    generatorVersion: GENERATOR_VERSION,
    seed,
    domain,
    anatomy: opts.anatomy ?? 'breast',
    width: size,
    height: size,
    channels: 1,
    count,
    imageFormat: 'png-gray8',
    maskFormat: 'png-gray8',
    maskValues: { '0': 'background', '255': 'lesion' },
    labels: { background: 0, lesion: 1 },
    ...(items.some((i) => i.labelMap)
      ? { labelMapFormat: 'png-gray8', labelMapValues: Object.fromEntries(THYROID_LABELS.map((l) => [String(l.value), l.name])) }
      : {}),
    items,
  };
  await writeFileAtomic(datasetJson, `${JSON.stringify(description, null, 2)}\n`);
  return { outDir, datasetJson, items };
}

export interface DemoStudiesOptions {
  patients: number;
  imagesPerSeries: number;
  seed: number;
  domain?: Domain;
  size?: number;
  anatomy?: AnatomyKind | 'mixed';
}

export interface DemoDicomFile {
  path: string;
  patientId: string;
  patientName: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  instanceNumber: number;
  /** The phantom index the image was generated from (for finding its mask). */
  index: number;
}

function pad(v: number, n: number): string {
  return String(v).padStart(n, '0');
}

/**
 * One study per patient, one series of `imagesPerSeries` images each:
 * outDir/<PatientID>/<series folder>/IM0001.dcm. Returns every file written, in order.
 */
export async function writeDemoStudies(outDir: string, opts: DemoStudiesOptions): Promise<DemoDicomFile[]> {
  const { patients, imagesPerSeries, seed } = opts;
  const domain = opts.domain ?? 'base';
  checkCount('patients', patients, 9999);
  checkCount('imagesPerSeries', imagesPerSeries, 9999);
  const files: DemoDicomFile[] = [];
  for (let p = 0; p < patients; p++) {
    // A patient keeps its ID across domains: the shifted domain is the same person on another scanner.
    const patientId = `DEMO-${seed}-${pad(p + 1, 4)}`;
    const patientName = `DEMO^PHANTOM^${pad(p + 1, 4)}`;
    const h = hashInts(seed, p, hashLabel(domain));
    const day = new Date(Date.UTC(2024, 0, 1) + (h % 366) * 86_400_000);
    const studyDate = `${day.getUTCFullYear()}${pad(day.getUTCMonth() + 1, 2)}${pad(day.getUTCDate(), 2)}`;
    const seconds = 8 * 3600 + (Math.floor(h / 366) % (9 * 3600));
    const studyInstanceUid = demoUid(seed, domain, 'study', p);
    const seriesInstanceUid = demoUid(seed, domain, 'series', p);
    // One organ per patient, so a series never mixes breast and thyroid images.
    const anatomy: AnatomyKind =
      opts.anatomy === 'mixed'
        ? hashInts(seed, p, hashLabel('anatomy')) % 100 < 35
          ? 'thyroid'
          : 'breast'
        : (opts.anatomy ?? 'breast');
    const seriesDir = path.join(outDir, patientId, domain === 'base' ? 'US1-base' : 'US1-shifted');
    await mkdir(seriesDir, { recursive: true });
    for (let i = 0; i < imagesPerSeries; i++) {
      const index = p * imagesPerSeries + i;
      const phantom: Phantom = generatePhantom({ seed, index, domain, width: opts.size, height: opts.size, anatomy });
      const sopInstanceUid = demoUid(seed, domain, 'image', p, i);
      const time = (s: number): string => `${pad(Math.floor(s / 3600), 2)}${pad(Math.floor(s / 60) % 60, 2)}${pad(s % 60, 2)}`;
      const bytes = phantomToDicom(phantom, {
        patientName,
        patientId,
        studyInstanceUid,
        seriesInstanceUid,
        sopInstanceUid,
        studyDate,
        studyTime: time(seconds),
        contentTime: time(seconds + 20 + 15 * i),
        accessionNumber: `DEMO${pad(seed % 100000, 5)}${pad(p + 1, 4)}`,
        studyId: '1',
        studyDescription: `Demo ${phantom.meta.anatomy} US`,
        seriesDescription: `Demo ${phantom.meta.anatomy} US (${domain} domain)`,
        seriesNumber: 1,
        instanceNumber: i + 1,
        laterality: h & 1 ? 'L' : 'R',
      });
      const file = path.join(seriesDir, `IM${pad(i + 1, 4)}.dcm`);
      await writeFileAtomic(file, bytes);
      files.push({
        path: file,
        patientId,
        patientName,
        studyInstanceUid,
        seriesInstanceUid,
        sopInstanceUid,
        instanceNumber: i + 1,
        index,
      });
    }
  }
  return files;
}
