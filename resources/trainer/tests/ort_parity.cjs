// Runs an exported model with onnxruntime-node on the input stored in a reference file and
// prints the largest difference from the PyTorch output stored beside it.
// Usage: node ort_parity.cjs <onnxruntime-node dir> <model.onnx> <reference.bin> [timed runs]
const fs = require('fs');

async function main() {
  const [ortDir, onnxPath, refPath, reps] = process.argv.slice(2);
  const ort = require(ortDir);
  const buf = fs.readFileSync(refPath);
  const headerLength = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + headerLength).toString('utf8'));
  const count = (shape) => shape.reduce((a, b) => a * b, 1);
  const nIn = count(header.inputShape);
  const nOut = count(header.outputShape);
  const body = buf.buffer.slice(buf.byteOffset + 4 + headerLength, buf.byteOffset + buf.length);
  const input = new Float32Array(body.slice(0, nIn * 4));
  const expected = new Float32Array(body.slice(nIn * 4, (nIn + nOut) * 4));
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: 2 });
  const feeds = { input: new ort.Tensor('float32', input, header.inputShape) };
  let out = await session.run(feeds);
  const runs = Number(reps || 0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) out = await session.run(feeds);
  const ms = runs ? Number(process.hrtime.bigint() - t0) / 1e6 / runs : null;
  const got = out.logits.data;
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < nOut; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - expected[i]));
    maxAbsRef = Math.max(maxAbsRef, Math.abs(expected[i]));
  }
  console.log(JSON.stringify({ shape: out.logits.dims, maxAbsDiff, maxAbsRef, msPerRun: ms }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
