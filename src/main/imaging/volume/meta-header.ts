// MetaImage header checks (.mha with local data, .mhd with a detached .raw/.zraw) before ITK reads
// the file. The header is "Key = Value" lines; ElementDataFile is always the last of them.
import path from 'node:path';
import type { DataPlan } from './data-check';
import { VolumeError } from './errors';
import { product, readTextHeader, type HeaderInfo } from './header';

// MetaIO's value sizes (metaTypes.h: MET_LONG is 4 bytes on every platform).
const ELEMENT_BYTES: Record<string, number> = {
  MET_CHAR: 1,
  MET_UCHAR: 1,
  MET_SHORT: 2,
  MET_USHORT: 2,
  MET_INT: 4,
  MET_UINT: 4,
  MET_LONG: 4,
  MET_ULONG: 4,
  MET_LONG_LONG: 8,
  MET_ULONG_LONG: 8,
  MET_FLOAT: 4,
  MET_DOUBLE: 8,
};

function elementBytes(type: string): number | undefined {
  return ELEMENT_BYTES[type.toUpperCase().replace(/_ARRAY$/, '')];
}

/** Where the header ends: just after the ElementDataFile line (local data follows it). */
function findHeaderEnd(text: string): number | null {
  const m = /^[ \t]*ElementDataFile[ \t]*=[^\n]*\n/im.exec(text);
  return m ? m.index + m[0].length : null;
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(true|1)$/i.test(value.trim());
}

export async function parseMetaHeader(file: string): Promise<HeaderInfo> {
  const name = path.basename(file);
  const { text, end } = await readTextHeader(file, (t) => {
    if (t.length === 0) throw new VolumeError('truncated', `${name} is empty`);
    if (!/^\s*[A-Za-z_]\w*\s*=/.test(t))
      throw new VolumeError('bad-magic', `${name} is not a MetaImage header: it does not start with "Key = Value"`);
    return findHeaderEnd(t);
  });

  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (line.trim() === '') continue;
    if (at <= 0) throw new VolumeError('malformed', `${name}: header line "${line.slice(0, 80)}" is not "Key = Value"`);
    fields.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  const objectType = fields.get('objecttype');
  if (objectType !== undefined && objectType.toLowerCase() !== 'image') {
    throw new VolumeError('unsupported', `${name} holds a MetaIO "${objectType}" object, not an image`);
  }
  const dataFile = fields.get('elementdatafile');
  if (dataFile === undefined) throw new VolumeError('truncated', `${name}: the header has no ElementDataFile line`);

  const ndims = Number(fields.get('ndims'));
  if (!Number.isInteger(ndims) || ndims < 1)
    throw new VolumeError('malformed', `${name}: NDims "${fields.get('ndims')}" is invalid`);
  const dims = (fields.get('dimsize') ?? '').split(/\s+/).filter(Boolean).map(Number);
  if (dims.length !== ndims)
    throw new VolumeError('malformed', `${name}: DimSize lists ${dims.length} values for NDims ${ndims}`);
  const channels = fields.has('elementnumberofchannels') ? Number(fields.get('elementnumberofchannels')) : 1;
  if (!Number.isInteger(channels) || channels < 1)
    throw new VolumeError('malformed', `${name}: ElementNumberOfChannels is invalid`);

  const type = fields.get('elementtype') ?? '';
  const valueBytes = elementBytes(type);
  if (valueBytes === undefined) {
    throw new VolumeError(type ? 'unsupported' : 'malformed', `${name}: ElementType "${type}" is not supported`);
  }
  const allDims = channels > 1 ? [...dims, channels] : dims;
  const dataBytes = product(allDims, name) * valueBytes;

  const compressed = isTrue(fields.get('compresseddata'));
  const binary = fields.get('binarydata') === undefined || isTrue(fields.get('binarydata'));
  const encoding = !binary ? 'text' : compressed ? 'zlib' : 'raw';
  const headerSize = fields.has('headersize') ? Number(fields.get('headersize')) : 0;
  if (!Number.isInteger(headerSize) || headerSize < -1) throw new VolumeError('malformed', `${name}: HeaderSize is invalid`);
  if (headerSize === -1 && encoding !== 'raw')
    throw new VolumeError('malformed', `${name}: HeaderSize -1 needs uncompressed binary data`);
  const compressedSize = fields.has('compresseddatasize') ? Number(fields.get('compresseddatasize')) : undefined;

  let plan: DataPlan;
  if (dataFile.toUpperCase() === 'LOCAL') {
    plan = { file, offset: headerSize === -1 ? 'end' : end, encoding, needBytes: dataBytes };
  } else {
    if (/^LIST\b/i.test(dataFile) || dataFile.includes('%')) {
      throw new VolumeError('unsupported', `${name} splits its data over several files ("${dataFile}"), which is not supported`);
    }
    const target = path.resolve(path.dirname(file), dataFile);
    plan = { file: target, offset: headerSize === -1 ? 'end' : headerSize, encoding, needBytes: dataBytes };
  }
  if (compressedSize !== undefined && Number.isSafeInteger(compressedSize) && compressedSize > 0)
    plan.compressedBytes = compressedSize;
  return { format: 'metaimage', variant: 'MetaImage', dims: allDims, valueBytes, dataBytes, data: plan, warnings: [] };
}
