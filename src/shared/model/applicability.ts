// Whether a model is meant for a series: its model.json `domain` against the series' DICOM
// Modality (0008,0060) and Photometric Interpretation (0028,0004). Automatic segmentation and
// the review queue take only matching series; others are segmented on request.
import type { ModelDomain } from './manifest';

export type Applicability = { inDomain: true } | { inDomain: false; reason: string };

/**
 * Matches a series against a model's domain. A model without a `domain` (older folders) is
 * taken to be for every series. A series of unknown modality (PNG/JPEG and volumes are
 * imported as `OT`, Other) does not match a model that names its modalities: an unknown
 * picture is not assumed to be an ultrasound.
 */
export function applicability(domain: ModelDomain | undefined, series: { modality: string; photometric: string }): Applicability {
  if (!domain) return { inDomain: true };
  const modality = series.modality.trim().toUpperCase();
  const forWhat = `this model is for ${domain.modalities.join('/')}${domain.bodyPart ? ` (${domain.bodyPart})` : ''}`;
  if (modality === '' || modality === 'OT') {
    return { inDomain: false, reason: `Outside this model's domain: the series' modality is unknown and ${forWhat}` };
  }
  if (!domain.modalities.includes(modality))
    return { inDomain: false, reason: `Outside this model's domain: ${modality} images, and ${forWhat}` };
  const photometric = series.photometric.trim().toUpperCase();
  if (!(domain.photometric as readonly string[]).includes(photometric)) {
    return {
      inDomain: false,
      reason: `Outside this model's domain: ${photometric} pixels, and this model reads ${domain.photometric.join(' or ')}`,
    };
  }
  return { inDomain: true };
}
