// Builds a binary DICOM Segmentation (PS3.3 A.51, C.8.20) from a series' label maps: one segment
// per label (numbered 1…n, each written from its label value, with its codes: series-seg.ts says
// the rule), one frame per segment × source image given (empty frames included, so every
// segment covers every labelled image and a reader needs no geometry to rebuild the label map;
// series-seg.ts gives only the images that have a label map),
// per-frame functional groups that reference the source SOP instances, and the source's frame
// of reference and plane geometry when it has them (volumes); none for 2D images without them.
import { packSegmentFrames } from './bits';
import { dicomDateTime, type Dataset, writePart10 } from './write-part10';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';

export type Vec3 = [number, number, number];

/** One source image (one 2D frame) in display order. */
export interface SegSourceImage {
  sopClassUid: string;
  sopInstanceUid: string;
  /** 1-based frame of a multi-frame source instance; null for a single-frame instance. */
  frameNumber: number | null;
  /** Image Position (Patient) of the frame, mm; null when the source has no plane geometry. */
  position: Vec3 | null;
}

export interface SegSource {
  /** Patient and General Study attributes of the source (dcmjs keywords), copied as they are. */
  patientStudy: Dataset;
  seriesInstanceUid: string;
  /** Present only with plane geometry for every image. */
  frameOfReferenceUid: string | null;
  rows: number;
  columns: number;
  /** Image Orientation (Patient): row then column direction cosines; null without geometry. */
  orientation: [number, number, number, number, number, number] | null;
  /** Pixel Spacing (row spacing, column spacing) in mm. */
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  images: SegSourceImage[];
}

/** PS3.3 C.8.20.2 Segment Algorithm Type. */
export type SegmentAlgorithmType = 'AUTOMATIC' | 'SEMIAUTOMATIC' | 'MANUAL';

/** One Code Sequence item (Code Value, Coding Scheme Designator, Code Meaning). */
export interface SegCode {
  value: string;
  scheme: string;
  meaning: string;
}

export interface SegSegment {
  /** Segment Number (0062,0004): 1…n, consecutive in the order given (PS3.3 C.8.20.2.4). */
  number: number;
  /** The label map pixel value this segment is written from (default: `number`). */
  value?: number;
  label: string;
  /** Segment Description (0062,0006), type 3; omitted when absent. */
  description?: string;
  /** Segmented Property Category / Type Code Sequences; default: the built-in codes for `label`. */
  category?: SegCode;
  type?: SegCode;
  /** Display colour as #rrggbb (sRGB), written as Recommended Display CIELab Value. */
  colour?: string;
  algorithmType: SegmentAlgorithmType;
  /** The model that produced or started the segment: required unless MANUAL. */
  algorithm: { name: string; version: string } | null;
}

export interface SegOptions {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number;
  seriesDescription: string;
  contentCreatorName: string;
  softwareVersion: string;
  at: Date;
}

interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

const code = (value: string, scheme: string, meaning: string): Code => ({
  CodeValue: value,
  CodingSchemeDesignator: scheme,
  CodeMeaning: meaning,
});

// Segmented property codes (CID 7150 / 7151 / 7159) for the labels our models name.
const PROPERTY: Record<string, { category: Code; type: Code }> = {
  lesion: { category: code('49755003', 'SCT', 'Morphologically Abnormal Structure'), type: code('52988006', 'SCT', 'Lesion') },
  mass: { category: code('49755003', 'SCT', 'Morphologically Abnormal Structure'), type: code('4147007', 'SCT', 'Mass') },
};
const TISSUE = { category: code('85756007', 'SCT', 'Tissue'), type: code('85756007', 'SCT', 'Tissue') };
// CID 7162 Segmentation Algorithm Family.
const ARTIFICIAL_INTELLIGENCE = code('123110', 'DCM', 'Artificial Intelligence');
const SOURCE_IMAGE_PURPOSE = code('121322', 'DCM', 'Source image for image processing operation');
const SEGMENTATION_DERIVATION = code('113076', 'DCM', 'Segmentation');
// A distinct colour per segment, CIELab scaled to 0..65535 (PS3.3 C.10.7.1.1).
const CIELAB = [
  [34885, 53485, 50171],
  [45587, 26880, 49150],
  [53606, 40109, 17476],
  [27522, 39770, 9225],
  [41000, 20000, 20000],
];

// Attribute tags, for Dimension Index Pointer and Functional Group Pointer (AT).
const TAG = {
  ReferencedSegmentNumber: 0x0062000b,
  SegmentIdentificationSequence: 0x0062000a,
  ImagePositionPatient: 0x00200032,
  PlanePositionSequence: 0x00209113,
  InStackPositionNumber: 0x00209057,
  FrameContentSequence: 0x00209111,
};

/** Type 2 Patient and General Study attributes: present, even when empty (PS3.3 C.7.1.1, C.7.2.1). */
const TYPE2_PATIENT_STUDY = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
];
const COPIED_PATIENT_STUDY = [
  ...TYPE2_PATIENT_STUDY,
  'IssuerOfPatientID',
  'StudyInstanceUID',
  'StudyDescription',
  'PatientAge',
  'PatientWeight',
];

/**
 * The SEG as Part-10 bytes. `labelMaps[i]` is the uint8 label map (Rows × Columns, row-major)
 * of `source.images[i]`; pixel value `segment.value` (default: its number) belongs to that segment. Throws RangeError
 * when shapes disagree or a label map holds a value that no segment names.
 */
export function buildSeg(
  source: SegSource,
  labelMaps: readonly Uint8Array[],
  segments: readonly SegSegment[],
  o: SegOptions,
): Uint8Array {
  const pixels = source.rows * source.columns;
  if (labelMaps.length !== source.images.length)
    throw new RangeError(`${labelMaps.length} label maps for ${source.images.length} source images`);
  if (segments.length === 0) throw new RangeError('a SEG needs at least one segment');
  const known = new Set(segments.map((s) => s.value ?? s.number));
  for (const [i, map] of labelMaps.entries()) {
    if (map.length !== pixels)
      throw new RangeError(`label map ${i} holds ${map.length} pixels, the source ${source.rows} × ${source.columns}`);
    for (const v of new Set(map))
      if (v !== 0 && !known.has(v)) throw new RangeError(`label map ${i} holds value ${v}, which no segment names`);
  }
  const geometric =
    source.frameOfReferenceUid !== null && source.orientation !== null && source.images.every((im) => im.position !== null);

  const perFrame: Dataset[] = [];
  for (const [s, segment] of segments.entries())
    for (const [i, image] of source.images.entries()) perFrame.push(frameGroups(image, s + 1, i + 1, segment.number, geometric));

  const content = dicomDateTime(o.at);
  const dimensionOrganizationUid = `${o.sopInstanceUid}.1`;
  const secondDimension = geometric
    ? {
        DimensionIndexPointer: TAG.ImagePositionPatient,
        FunctionalGroupPointer: TAG.PlanePositionSequence,
        DimensionDescriptionLabel: 'Image Position Patient',
      }
    : {
        DimensionIndexPointer: TAG.InStackPositionNumber,
        FunctionalGroupPointer: TAG.FrameContentSequence,
        DimensionDescriptionLabel: 'In-Stack Position Number',
      };
  const shared: Dataset = {};
  if (source.pixelSpacing || source.sliceThickness !== null) {
    const measures: Dataset = {};
    if (source.pixelSpacing) measures.PixelSpacing = source.pixelSpacing.map(ds);
    if (source.sliceThickness !== null) measures.SliceThickness = ds(source.sliceThickness);
    shared.PixelMeasuresSequence = [measures];
  }
  // Without a frame of reference the orientation is not tied to the patient; it still says how
  // the frame lies on its source image (rows along +x, columns along +y, as viewers show a 2D
  // image), which OHIF's SEG reader requires and dciodvfy accepts.
  shared.PlaneOrientationSequence = [{ ImageOrientationPatient: (geometric ? source.orientation! : [1, 0, 0, 0, 1, 0]).map(ds) }];

  const dataset: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SEGMENTATION_STORAGE,
    SOPInstanceUID: o.sopInstanceUid,
    ...patientStudyAttributes(source.patientStudy),
    Modality: 'SEG',
    SeriesInstanceUID: o.seriesInstanceUid,
    SeriesNumber: o.seriesNumber,
    SeriesDescription: o.seriesDescription,
    ...(geometric
      ? { FrameOfReferenceUID: source.frameOfReferenceUid, PositionReferenceIndicator: '' }
      : { PatientOrientation: '' }),
    Manufacturer: 'LGMS',
    ManufacturerModelName: 'LGMS Workstation',
    DeviceSerialNumber: '1',
    SoftwareVersions: o.softwareVersion,
    InstanceNumber: 1,
    ContentDate: content.date,
    ContentTime: content.time,
    ContentLabel: 'SEGMENTATION',
    ContentDescription: o.seriesDescription,
    ContentCreatorName: o.contentCreatorName,
    ImageType: ['DERIVED', 'PRIMARY'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: source.rows,
    Columns: source.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentSequence: segments.map(segmentItem),
    NumberOfFrames: perFrame.length,
    DimensionOrganizationType: geometric ? '3D' : undefined,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: TAG.ReferencedSegmentNumber,
        FunctionalGroupPointer: TAG.SegmentIdentificationSequence,
        DimensionDescriptionLabel: 'Segment Number',
      },
      { DimensionOrganizationUID: dimensionOrganizationUid, ...secondDimension },
    ],
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: perFrame,
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: source.seriesInstanceUid,
        ReferencedInstanceSequence: uniqueInstances(source.images).map((im) => ({
          ReferencedSOPClassUID: im.sopClassUid,
          ReferencedSOPInstanceUID: im.sopInstanceUid,
        })),
      },
    ],
    PixelData: packSegmentFrames(
      labelMaps,
      segments.map((x) => x.value ?? x.number),
      pixels,
    ).buffer,
    _vrMap: { PixelData: 'OB' },
  };
  if (dataset.DimensionOrganizationType === undefined) delete dataset.DimensionOrganizationType;
  return writePart10(dataset);
}

/** The source's Patient and General Study attributes, type 2 ones present even when empty. */
export function patientStudyAttributes(patientStudy: Dataset): Dataset {
  return {
    ...Object.fromEntries(TYPE2_PATIENT_STUDY.map((k) => [k, ''])),
    ...Object.fromEntries(COPIED_PATIENT_STUDY.filter((k) => patientStudy[k] !== undefined).map((k) => [k, patientStudy[k]])),
  };
}

function frameGroups(
  image: SegSourceImage,
  segmentIndex: number,
  position: number,
  segmentNumber: number,
  geometric: boolean,
): Dataset {
  const sourceImage: Dataset = {
    ReferencedSOPClassUID: image.sopClassUid,
    ReferencedSOPInstanceUID: image.sopInstanceUid,
    PurposeOfReferenceCodeSequence: [SOURCE_IMAGE_PURPOSE],
  };
  if (image.frameNumber !== null) sourceImage.ReferencedFrameNumber = image.frameNumber;
  const frameContent: Dataset = { DimensionIndexValues: [segmentIndex, position] };
  if (!geometric) Object.assign(frameContent, { StackID: '1', InStackPositionNumber: position });
  const groups: Dataset = {
    DerivationImageSequence: [{ SourceImageSequence: [sourceImage], DerivationCodeSequence: [SEGMENTATION_DERIVATION] }],
    FrameContentSequence: [frameContent],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: segmentNumber }],
  };
  if (geometric) groups.PlanePositionSequence = [{ ImagePositionPatient: image.position!.map(ds) }];
  return groups;
}

function segmentItem(segment: SegSegment, index: number): Dataset {
  const property = PROPERTY[segment.label.toLowerCase()] ?? TISSUE;
  const item: Dataset = {
    SegmentNumber: segment.number,
    SegmentLabel: segment.label.slice(0, 64),
    ...(segment.description ? { SegmentDescription: segment.description.slice(0, 64) } : {}),
    SegmentedPropertyCategoryCodeSequence: [segment.category ? toCode(segment.category) : property.category],
    SegmentedPropertyTypeCodeSequence: [segment.type ? toCode(segment.type) : property.type],
    SegmentAlgorithmType: segment.algorithmType,
    RecommendedDisplayCIELabValue: segment.colour ? dicomLab(segment.colour) : CIELAB[index % CIELAB.length],
  };
  if (segment.algorithmType !== 'MANUAL') {
    if (!segment.algorithm) throw new RangeError(`segment ${segment.number} (${segment.algorithmType}) names no algorithm`);
    item.SegmentAlgorithmName = segment.algorithm.name;
    item.SegmentationAlgorithmIdentificationSequence = [
      {
        AlgorithmFamilyCodeSequence: [ARTIFICIAL_INTELLIGENCE],
        AlgorithmName: segment.algorithm.name,
        AlgorithmVersion: segment.algorithm.version,
      },
    ];
  }
  return item;
}

/**
 * An sRGB colour (#rrggbb) as a DICOM CIELab value: L* 0…100 → 0…65535, a* and b* −128…127 →
 * 0…65535 (PS3.3 C.10.7.1.1), through CIE XYZ under D65 (IEC 61966-2-1 sRGB).
 */
export function dicomLab(hex: string): [number, number, number] {
  const lin = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const [r, g, b] = lin;
  const x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const y = 0.2126729 * r + 0.7151522 * g + 0.072175 * b;
  const z = (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  const L = 116 * f(y) - 16;
  const A = 500 * (f(x) - f(y));
  const B = 200 * (f(y) - f(z));
  const clamp = (v: number) => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((A + 128) * 65535) / 255), clamp(((B + 128) * 65535) / 255)];
}

const toCode = (c: SegCode): Code => code(c.value, c.scheme, c.meaning.slice(0, 64));

function uniqueInstances(images: readonly SegSourceImage[]): SegSourceImage[] {
  const seen = new Map<string, SegSourceImage>();
  for (const im of images) if (!seen.has(im.sopInstanceUid)) seen.set(im.sopInstanceUid, im);
  return [...seen.values()];
}

/** A DS value: at most 16 characters (PS3.5 6.2), as exact as that allows. */
export function ds(value: number): string {
  for (let digits = 10; digits > 0; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  return value.toExponential(6);
}
