// Loads the pixels of one image row (one 2D frame) from the content store, whatever its source
// format. Decoded files are cached briefly: scrolling and inference read neighbouring frames
// of the same multi-frame file or volume.
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { ContentStore } from '../store/content-store';
import { readNativeFrames } from './dicom/fast-header';
import { decodeDicom } from './dicom';
import type { FramePixels } from '../../shared/imaging/pixels';
import type { DecodedFrame, DecodedImage, PixelArray } from './dicom/types';
import { readRaster } from './raster/read';
import { readVolume, timePointSlices } from './volume/read';

export interface LoadedFrame extends FramePixels {
  windowCenter: number | null;
  windowWidth: number | null;
  pixelSpacing: [number, number] | null;
}

interface ImageRow {
  id: number;
  frame_index: number;
  rows: number;
  columns: number;
  rescale_slope: number;
  rescale_intercept: number;
  window_center: number | null;
  window_width: number | null;
  pixel_spacing_row: number | null;
  pixel_spacing_col: number | null;
  store_path: string;
  pack_offset: number | null;
  size: number;
  format: string;
  file_id: number;
}

const CACHE_FILES = 4;

export class FrameLoader {
  private readonly cache = new Map<number, Promise<DecodedImage>>();
  private readonly byId;

  constructor(
    db: Database,
    private readonly store: ContentStore,
  ) {
    this.byId = db.prepare(`
      SELECT i.id, i.frame_index, i.rows, i.columns, i.rescale_slope, i.rescale_intercept, i.window_center, i.window_width,
             i.pixel_spacing_row, i.pixel_spacing_col, f.store_path, f.pack_offset, f.size, f.format, f.id AS file_id
      FROM images i JOIN files f ON f.id = i.file_id WHERE i.id = ?`);
  }

  async load(imageId: number): Promise<LoadedFrame> {
    const row = this.byId.get(imageId) as ImageRow | undefined;
    if (!row) throw new ServiceError('not-found', `no image ${imageId}`);
    const decoded = await this.decodeFile(row);
    const frame = decoded.frames[row.frame_index];
    if (!frame) throw new ServiceError('corrupt', `image ${imageId}: frame ${row.frame_index} is missing from its file`);
    return {
      imageId,
      rows: frame.rows,
      columns: frame.columns,
      samplesPerPixel: frame.samplesPerPixel,
      photometric: frame.photometric,
      pixels: frame.pixels,
      slope: row.rescale_slope,
      intercept: row.rescale_intercept,
      windowCenter: row.window_center,
      windowWidth: row.window_width,
      pixelSpacing: row.pixel_spacing_row && row.pixel_spacing_col ? [row.pixel_spacing_row, row.pixel_spacing_col] : null,
    };
  }

  private decodeFile(row: ImageRow): Promise<DecodedImage> {
    const hit = this.cache.get(row.file_id);
    if (hit) {
      this.cache.delete(row.file_id);
      this.cache.set(row.file_id, hit);
      return hit;
    }
    const pending = this.decodeUncached(row);
    this.cache.set(row.file_id, pending);
    pending.catch(() => this.cache.delete(row.file_id));
    while (this.cache.size > CACHE_FILES) this.cache.delete(this.cache.keys().next().value!);
    return pending;
  }

  private async decodeUncached(row: ImageRow): Promise<DecodedImage> {
    const file = this.store.absolute(row.store_path);
    const started = performance.now();
    if (row.format === 'nifti' || row.format === 'nrrd' || row.format === 'metaimage') {
      // The same axial slicing as at import, so frame i is the slice the index described.
      // A 4D file's frames run time point after time point, as the import numbered them.
      const slices = timePointSlices(await readVolume(file)).map((t) => t.slice);
      return {
        frames: slices.map((s) => toFrame(s.rows, s.columns, s.samplesPerPixel, s.pixels)),
        decodeMs: performance.now() - started,
        decoder: 'itk-wasm',
      };
    }
    if (row.format === 'png' || row.format === 'jpeg') {
      const r = await readRaster(file);
      return {
        frames: [toFrame(r.rows, r.columns, r.samplesPerPixel, r.pixels, r.bitsStored)],
        decodeMs: performance.now() - started,
        decoder: row.format,
      };
    }
    const bytes = this.store.read({ relative: row.store_path, offset: row.pack_offset }, row.size);
    // Plain native grey images skip the full decoder (dcmjs parses the whole file): the common
    // case when scrolling and segmenting, and 1.5 ms of a slice's pipeline when measured.
    const native = readNativeFrames(bytes);
    if (native) {
      return {
        frames: native.pixels.map((pixels) => ({
          ...toFrame(native.rows, native.columns, 1, pixels),
          photometric: native.photometric,
        })),
        decodeMs: performance.now() - started,
        decoder: 'native (direct)',
      };
    }
    const outcome = await decodeDicom(bytes);
    if (outcome.status === 'decoded') return outcome.image;
    throw new ServiceError(
      outcome.status === 'skipped' ? 'unsupported' : 'corrupt',
      outcome.status === 'skipped' ? outcome.reason : outcome.message,
    );
  }
}

function toFrame(rows: number, columns: number, samplesPerPixel: number, pixels: PixelArray, bitsStored?: number): DecodedFrame {
  return {
    pixels,
    rows,
    columns,
    samplesPerPixel,
    photometric: samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    bitsStored: bitsStored ?? pixels.BYTES_PER_ELEMENT * 8,
    signed:
      pixels instanceof Int8Array ||
      pixels instanceof Int16Array ||
      pixels instanceof Int32Array ||
      pixels instanceof Float32Array ||
      pixels instanceof Float64Array,
  };
}
