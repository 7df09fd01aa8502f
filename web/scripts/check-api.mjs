// Fails when src/lib/api.d.ts is not what `npm run gen:api` makes from the committed OpenAPI
// document, so the UI's types cannot drift from the server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tether-api-'));
const fresh = join(dir, 'api.d.ts');
try {
  execFileSync(
    'npx',
    ['openapi-typescript', '../crates/tether-server/openapi.json', '-o', fresh],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const committed = readFileSync('src/lib/api.d.ts', 'utf8');
  if (readFileSync(fresh, 'utf8') !== committed) {
    console.error(
      'src/lib/api.d.ts is out of date with crates/tether-server/openapi.json: run `npm run gen:api` in web/ and commit it.',
    );
    process.exitCode = 1;
  } else {
    console.log('src/lib/api.d.ts matches the OpenAPI document.');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
