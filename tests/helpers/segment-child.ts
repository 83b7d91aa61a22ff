// A backend in its own process that segments one series with its task's active (3D) version and
// prints "window N" as the sliding windows run, so a test can kill -9 it mid-volume
// (tests/integration/volume-job.test.ts). Arguments: data folder, series id, task id.
import { createBackend } from '../../src/main/backend';

const [dataDir, seriesId, taskId] = process.argv.slice(2);
const b = createBackend({ dataDir: dataDir!, transport: 'http' });
await b.ready;
b.events.on('onDidChangeJob', (job) => {
  const p = job.kind === 'inference' ? job.progress : null;
  if (p && p.unit === 'windows' && (p.done ?? 0) > 0) process.stdout.write(`window ${p.done}\n`);
});
await b.services.inference.segmentSeries({ seriesId: Number(seriesId), taskId: Number(taskId), ttaFlips: 4 });
