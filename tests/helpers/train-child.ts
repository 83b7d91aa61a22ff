// A backend in its own process that starts a long fine-tuning run and prints the trainer's PID
// at its first step, so a test can kill -9 this process mid-run (tests/integration/training.test.ts).
import { createBackend } from '../../src/main/backend';

const b = createBackend({ dataDir: process.argv[2]!, transport: 'http', inference: false });
b.events.on('onDidTrainStep', () => process.stdout.write(`step trainer=${b.training.trainerPid()}\n`));
await b.services.training.start({ maxSteps: 1000 });
