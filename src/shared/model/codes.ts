// Coded concepts for what a label is: the Segmented Property Category and Type of a DICOM SEG
// segment (PS3.3 C.8.20.4, Segment Description Macro), from SNOMED CT (coding scheme "SCT").
// A shipped list of common structures to pick from; anything else gets a local code in the
// private scheme below (PS3.16 8.2: designators beginning with "99" are private).
import { z } from 'zod';

/** One Code Sequence item: Code Value (SH, ≤ 16), Coding Scheme Designator (SH), Code Meaning (LO, ≤ 64). */
export const codedConceptSchema = z
  .object({
    value: z.string().trim().min(1).max(16),
    scheme: z.string().trim().min(1).max(16),
    meaning: z.string().trim().min(1).max(64),
  })
  .strict();
export type CodedConcept = z.infer<typeof codedConceptSchema>;

/** Scheme of the codes this workstation makes up for free-text labels. */
export const LOCAL_SCHEME = '99LGMS';

const sct = (value: string, meaning: string): CodedConcept => ({ value, scheme: 'SCT', meaning });

/** Segmentation Property Categories (PS3.16 CID 7150). */
export const CATEGORIES = {
  tissue: sct('85756007', 'Tissue'),
  anatomy: sct('91723000', 'Anatomical Structure'),
  altered: sct('49755003', 'Morphologically Altered Structure'),
  substance: sct('91720002', 'Body Substance'),
  object: sct('260787004', 'Physical Object'),
} as const;

/** A structure the reader can pick for a label: its category and type codes. */
export interface CatalogueEntry {
  category: CodedConcept;
  type: CodedConcept;
}

const entry = (category: keyof typeof CATEGORIES, value: string, meaning: string): CatalogueEntry => ({
  category: CATEGORIES[category],
  type: sct(value, meaning),
});

/**
 * Common organs, tissues, lesions and vessels with their SNOMED CT codes as DICOM uses them
 * (PS3.16 CID 7166 / 7151 / 7153 / 7159 / 7160 families). Ordered by group, then name.
 */
export const CODE_CATALOGUE: readonly CatalogueEntry[] = [
  // Organs and anatomical structures
  entry('anatomy', '28231008', 'Gallbladder'),
  entry('anatomy', '80891009', 'Heart'),
  entry('anatomy', '12738006', 'Brain'),
  entry('anatomy', '76752008', 'Breast'),
  entry('anatomy', '32849002', 'Esophagus'),
  entry('anatomy', '64033007', 'Kidney'),
  entry('anatomy', '18639004', 'Left kidney'),
  entry('anatomy', '9846003', 'Right kidney'),
  entry('anatomy', '10200004', 'Liver'),
  entry('anatomy', '39607008', 'Lung'),
  entry('anatomy', '15776009', 'Pancreas'),
  entry('anatomy', '41216001', 'Prostate'),
  entry('anatomy', '2748008', 'Spinal cord'),
  entry('anatomy', '78961009', 'Spleen'),
  entry('anatomy', '69695003', 'Stomach'),
  entry('anatomy', '69748006', 'Thyroid'),
  entry('anatomy', '44567001', 'Trachea'),
  entry('anatomy', '89837001', 'Urinary bladder'),
  entry('anatomy', '272673000', 'Bone'),
  // Vessels
  entry('anatomy', '15825003', 'Aorta'),
  entry('anatomy', '51114001', 'Artery'),
  entry('anatomy', '59820001', 'Blood vessel'),
  entry('anatomy', '32062004', 'Common carotid artery'),
  entry('anatomy', '64131007', 'Inferior vena cava'),
  entry('anatomy', '12123001', 'Internal jugular vein'),
  entry('anatomy', '32764006', 'Portal vein'),
  entry('anatomy', '29092000', 'Vein'),
  // Tissues and substances
  entry('tissue', '55603005', 'Adipose tissue'),
  entry('substance', '87612001', 'Blood'),
  entry('substance', '65216001', 'Cerebrospinal fluid'),
  // Lesions
  entry('altered', '441457006', 'Cyst'),
  entry('altered', '52988006', 'Lesion'),
  entry('altered', '4147007', 'Mass'),
  entry('altered', '108369006', 'Neoplasm'),
  entry('altered', '27925004', 'Nodule'),
];

/**
 * The codes of a label the reader named in free text: found in the catalogue by its Code
 * Meaning (case-insensitive), else a local code `L<n>` in LOCAL_SCHEME with the name as meaning
 * (cut to 64 characters) under the category the reader chose (default: anatomical structure).
 * `n` is the label's value in its task, so two labels of one task never share a local code.
 */
export function codesForName(name: string, value: number, category: CodedConcept = CATEGORIES.anatomy): CatalogueEntry {
  const wanted = name.trim().toLowerCase();
  const known = CODE_CATALOGUE.find((e) => e.type.meaning.toLowerCase() === wanted);
  if (known) return known;
  return { category, type: { value: `L${value}`, scheme: LOCAL_SCHEME, meaning: name.trim().slice(0, 64) } };
}

/** Whether two coded concepts are the same code (scheme and value; the meaning is display text). */
export function sameCode(a: CodedConcept, b: CodedConcept): boolean {
  return a.scheme.toUpperCase() === b.scheme.toUpperCase() && a.value === b.value;
}
