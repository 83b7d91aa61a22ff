// NRRD header checks (.nrrd with attached data, .nhdr with a detached data file) before ITK reads
// the file. Field names and type spellings follow the NRRD0001–0005 format description.
import path from 'node:path';
import type { DataEncoding, DataPlan } from './data-check';
import { VolumeError } from './errors';
import { product, readTextHeader, type HeaderInfo } from './header';

const TYPE_BYTES: [number, string[]][] = [
  [1, ['signed char', 'int8', 'int8_t', 'uchar', 'unsigned char', 'uint8', 'uint8_t']],
  [2, ['short', 'short int', 'signed short', 'signed short int', 'int16', 'int16_t']],
  [2, ['ushort', 'unsigned short', 'unsigned short int', 'uint16', 'uint16_t']],
  [4, ['int', 'signed int', 'int32', 'int32_t', 'uint', 'unsigned int', 'uint32', 'uint32_t', 'float']],
  [8, ['longlong', 'long long', 'long long int', 'signed long long', 'signed long long int', 'int64', 'int64_t']],
  [8, ['ulonglong', 'unsigned long long', 'unsigned long long int', 'uint64', 'uint64_t', 'double']],
];

const ENCODINGS = new Map<string, DataEncoding>([
  ['raw', 'raw'],
  ['gz', 'gzip'],
  ['gzip', 'gzip'],
  ['txt', 'text'],
  ['text', 'text'],
  ['ascii', 'text'],
  ['hex', 'text'],
]);

function typeBytes(type: string): number | undefined {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  return TYPE_BYTES.find(([, names]) => names.includes(t))?.[0];
}

/** Where the header ends: the first blank line (the attached data follows it). */
function findHeaderEnd(text: string): number | null {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? m.index + m[0].length : null;
}

function integer(value: string | undefined, field: string, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n))
    throw new VolumeError('malformed', `${name}: "${field}: ${value}" is not an integer`);
  return n;
}

export async function parseNrrdHeader(file: string): Promise<HeaderInfo> {
  const name = path.basename(file);
  const { text, end, bytes } = await readTextHeader(file, (t) => {
    if (t.length === 0) throw new VolumeError('truncated', `${name} is empty`);
    if (!t.startsWith('NRRD000')) throw new VolumeError('bad-magic', `${name} is not NRRD: it does not start with "NRRD000x"`);
    return findHeaderEnd(t);
  });
  const lines = text.split(/\r?\n/);
  const magic = lines[0] ?? '';
  if (!/^NRRD000\d$/.test(magic))
    throw new VolumeError('bad-magic', `${name}: unknown NRRD version line "${magic.slice(0, 20)}"`);

  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '' || line.startsWith('#') || line.includes(':=')) continue;
    const at = line.indexOf(': ');
    if (at <= 0) throw new VolumeError('malformed', `${name}: header line "${line.slice(0, 80)}" is not "field: value"`);
    fields.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 2).trim());
  }
  const field = (...names: string[]) => names.map((n) => fields.get(n)).find((v) => v !== undefined);

  const type = field('type');
  if (type === undefined) throw new VolumeError('malformed', `${name}: the "type" field is missing`);
  if (type.trim().toLowerCase() === 'block')
    throw new VolumeError('unsupported', `${name} stores "block" values, which are not supported`);
  const valueBytes = typeBytes(type);
  if (valueBytes === undefined) throw new VolumeError('malformed', `${name}: unknown type "${type}"`);

  const dimension = integer(field('dimension'), 'dimension', name);
  const dims = (field('sizes') ?? '').split(/\s+/).filter(Boolean).map(Number);
  if (dims.length !== dimension) {
    throw new VolumeError('malformed', `${name}: "sizes" lists ${dims.length} values for dimension ${dimension}`);
  }
  const dataBytes = product(dims, name) * valueBytes;

  const encodingName = (field('encoding') ?? '').toLowerCase();
  const encoding = ENCODINGS.get(encodingName);
  if (encodingName === 'bz2' || encodingName === 'bzip2') {
    throw new VolumeError(
      'unsupported',
      `${name} is bzip2-compressed, which the bundled ITK reader cannot decode; re-save it raw or gzip`,
    );
  }
  if (encoding === undefined)
    throw new VolumeError(encodingName ? 'unsupported' : 'malformed', `${name}: encoding "${encodingName}" is not supported`);
  if (valueBytes > 1 && encoding !== 'text' && field('endian') === undefined) {
    throw new VolumeError('malformed', `${name}: ${valueBytes}-byte values need an "endian" field`);
  }

  const byteSkip = field('byte skip', 'byteskip') === undefined ? 0 : integer(field('byte skip', 'byteskip'), 'byte skip', name);
  if (byteSkip < -1 || (byteSkip === -1 && encoding !== 'raw')) {
    throw new VolumeError('malformed', `${name}: byte skip ${byteSkip} is invalid with ${encodingName} encoding`);
  }
  const warnings: string[] = [];

  const dataFile = field('data file', 'datafile');
  let plan: DataPlan;
  const skip = Math.max(0, byteSkip);
  if (dataFile === undefined) {
    if (end >= bytes && !/\r?\n\r?\n$/.test(text)) {
      throw new VolumeError('truncated', `${name} ends inside its header: no blank line before the data`);
    }
    plan =
      byteSkip === -1
        ? { file, offset: 'end', encoding, needBytes: dataBytes }
        : { file, offset: end, encoding, needBytes: skip + dataBytes };
  } else {
    if (/^LIST\b/.test(dataFile) || /%\S*d\s+-?\d+\s+-?\d+\s+-?\d+/.test(dataFile)) {
      throw new VolumeError(
        'unsupported',
        `${name} splits its data over several files ("data file: ${dataFile}"), which is not supported`,
      );
    }
    const target = path.resolve(path.dirname(file), dataFile);
    plan =
      byteSkip === -1
        ? { file: target, offset: 'end', encoding, needBytes: dataBytes }
        : { file: target, offset: 0, encoding, needBytes: skip + dataBytes };
  }
  if (field('line skip', 'lineskip') !== undefined && integer(field('line skip', 'lineskip'), 'line skip', name) > 0) {
    warnings.push('line skip is not counted in the size check');
  }
  return { format: 'nrrd', variant: magic, dims, valueBytes, dataBytes, data: plan, warnings };
}
