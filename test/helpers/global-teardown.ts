import fs from 'node:fs';
import type { EmbeddedDatabase } from '../../src/db/embedded';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as { __embedded?: EmbeddedDatabase; __embeddedDir?: string };
  await g.__embedded?.stop();
  if (g.__embeddedDir) fs.rmSync(g.__embeddedDir, { recursive: true, force: true });
}
