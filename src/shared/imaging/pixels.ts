// The typed arrays a decoded image's samples can come in, on either side of the contract.
export type PixelArray =
  Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** One 2D frame's samples and how to read them, as the backend loads it and the viewer keeps it. */
export interface FramePixels {
  imageId: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  /** Stored values; apply slope/intercept for modality values. */
  pixels: PixelArray;
  slope: number;
  intercept: number;
}
