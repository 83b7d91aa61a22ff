// Compressed-frame decoders, chosen by measurement (Node 20, this 2-core machine, fixture files;
// numbers in the report of tests/integration/dicom-decode.test.ts):
// - Cornerstone's WebAssembly codecs (libjpeg-turbo 8-bit, CharLS, OpenJPEG) load offline from
//   their npm packages in 9–18 ms and decode in memory: a 512×512 16-bit JPEG 2000 frame in
//   ~7 ms, 96 frames of 512×512 8-bit JPEG in ~90 ms, a 1024×1024 JPEG-LS frame in ~50 ms.
// - itk-wasm's GDCM decodes every syntax (and matched DCMTK exactly on 12-bit JPEG) but costs
//   ~55 ms per call even for a 100×100 frame (it instantiates its WASI module per call), reads
//   only files, and applies rescale and colour rules of its own. So it is kept for the one case
//   the Cornerstone set cannot do: 12-bit JPEG (Process 4), which libjpeg-turbo-8bit refuses.
// - JPEG Lossless (Process 14) goes to Cornerstone's fork of jpeg-lossless-decoder-js (pure JS,
//   ~9 ms for 512×400 16-bit). The upstream package (rii-mango 2.1.2) drops the last pixel of
//   some colour streams (its bit reader sees the EOI marker too early); the fork does not.
//
// Each codec module is one WebAssembly instance per thread, created on first use and kept;
// an instance that threw is dropped, since an Emscripten abort leaves it unusable.
import { createRequire } from 'node:module';
import { DicomError, describe } from './errors';

export interface CodecFrame {
  /** Interleaved samples as the codec produced them (copied out of WebAssembly memory). */
  data: Uint8Array | Uint16Array | Int16Array;
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
  signed: boolean;
}

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  readHeader?(): void;
  getFrameInfo(): FrameInfo;
  getInterleaveMode?(): number;
  delete(): void;
}

type WasmModule = Record<string, new () => WasmDecoder>;
type Factory = (moduleArg?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<WasmModule>;

const requireCjs = createRequire(import.meta.url);

const MODULES = {
  jpeg: { spec: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', cls: 'JPEGDecoder', name: 'libjpeg-turbo 8-bit (wasm)' },
  jpegls: { spec: '@cornerstonejs/codec-charls/decodewasmjs', cls: 'JpegLSDecoder', name: 'CharLS (wasm)' },
  j2k: { spec: '@cornerstonejs/codec-openjpeg/decodewasmjs', cls: 'J2KDecoder', name: 'OpenJPEG (wasm)' },
} as const;

export type WasmCodec = keyof typeof MODULES;

const instances = new Map<WasmCodec, Promise<WasmModule>>();

function load(codec: WasmCodec): Promise<WasmModule> {
  let p = instances.get(codec);
  if (!p) {
    const factory = requireCjs(MODULES[codec].spec) as Factory;
    // OpenJPEG prints an [INFO] line per header; nothing the user needs.
    const quiet = () => {};
    p = factory({ print: quiet, printErr: quiet });
    instances.set(codec, p);
    p.catch(() => instances.delete(codec));
  }
  return p;
}

export function codecName(codec: WasmCodec | 'jpeg-lossless' | 'gdcm'): string {
  if (codec === 'jpeg-lossless') return 'jpeg-lossless-decoder-js (Cornerstone fork)';
  if (codec === 'gdcm') return 'GDCM via itk-wasm';
  return MODULES[codec].name;
}

/** Decodes one frame with a Cornerstone WebAssembly codec. */
export async function decodeWasm(codec: WasmCodec, encoded: Uint8Array): Promise<CodecFrame> {
  const mod = await load(codec);
  const Ctor = mod[MODULES[codec].cls];
  if (!Ctor) throw new DicomError('decode-failed', `${MODULES[codec].name} has no ${MODULES[codec].cls}`);
  const decoder = new Ctor();
  try {
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    const info = decoder.getFrameInfo();
    const decoded = decoder.getDecodedBuffer();
    const bytes = new Uint8Array(decoded.length);
    bytes.set(decoded); // copy: the view dies with the decoder
    const components = info.componentCount;
    const pixels = info.width * info.height;
    const bps = info.bitsPerSample;
    const signed = info.isSigned === true;
    let data: CodecFrame['data'] =
      bps <= 8
        ? bytes
        : signed
          ? new Int16Array(bytes.buffer, 0, bytes.length >> 1)
          : new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
    if (data.length < pixels * components) {
      throw new DicomError(
        'decode-failed',
        `${MODULES[codec].name} returned ${data.length} samples for a ${info.width}×${info.height}×${components} frame`,
      );
    }
    // CharLS returns the stream's own layout: component planes when not interleaved (mode 0).
    if (codec === 'jpegls' && components > 1 && decoder.getInterleaveMode?.() === 0) data = planes(data, pixels, components);
    return { data, width: info.width, height: info.height, components, bitsPerSample: bps, signed };
  } catch (e) {
    if (e instanceof DicomError) throw e;
    // A WebAssembly RuntimeError (abort, out of bounds) poisons the instance: start afresh next time.
    if (e instanceof Error && e.name === 'RuntimeError') instances.delete(codec);
    throw new DicomError('decode-failed', `${MODULES[codec].name} failed: ${describe(e)}`, e);
  } finally {
    try {
      decoder.delete();
    } catch {
      instances.delete(codec);
    }
  }
}

function planes<T extends CodecFrame['data']>(planar: T, pixels: number, components: number): T {
  const out = new (planar.constructor as new (n: number) => T)(pixels * components);
  for (let c = 0; c < components; c++) for (let i = 0; i < pixels; i++) out[i * components + c] = planar[c * pixels + i] ?? 0;
  return out;
}

interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer | Uint8Array | Uint16Array;
  xDim: number;
  yDim: number;
  numComp: number;
  precision: number;
}

/** JPEG Lossless (Process 14, any predictor) with Cornerstone's fork of jpeg-lossless-decoder-js. */
export function decodeJpegLossless(encoded: Uint8Array): CodecFrame {
  const { Decoder } = requireCjs('@cornerstonejs/jpeg-lossless-decoder-js') as { Decoder: new () => LosslessDecoder };
  const d = new Decoder();
  try {
    const copy = encoded.slice(); // the decoder keeps a DataView on whatever buffer it gets
    const out = d.decode(copy.buffer, 0, copy.byteLength);
    const buffer = out instanceof ArrayBuffer ? out : out.buffer;
    const precision = d.precision;
    const data = precision <= 8 ? new Uint8Array(buffer) : new Uint16Array(buffer);
    return { data, width: d.xDim, height: d.yDim, components: d.numComp, bitsPerSample: precision, signed: false };
  } catch (e) {
    throw new DicomError('decode-failed', `JPEG Lossless decoder failed: ${describe(e)}`, e);
  }
}
