// Starts s3rver (an S3-compatible server) for the tests: on 127.0.0.1 and a free port, storing into a new temporary
// folder, with the buckets named on the command line created. Prints {"endpoint":"http://127.0.0.1:PORT"} as one line
// on stdout once it listens; stops (and removes its folder) when stdin closes or on SIGTERM/SIGINT.
// Credentials are s3rver's own: access key S3RVER, secret S3RVER.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

const directory = mkdtempSync(join(tmpdir(), 'emo-s3rver-'));
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: process.argv.slice(2).map(name => ({ name })),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try { await server.close(); } catch { /* not running */ }
  rmSync(directory, { recursive: true, force: true });
  process.exit(code);
}

try {
  const { port } = await server.run();
  process.stdout.write(JSON.stringify({ endpoint: `http://127.0.0.1:${port}` }) + '\n');
} catch (error) {
  process.stderr.write(`s3rver did not start: ${error.message}\n`);
  await stop(1);
}
process.stdin.on('end', () => stop(0)).on('close', () => stop(0)).resume();
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
