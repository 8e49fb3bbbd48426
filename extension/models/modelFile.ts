// A cheap check, in the extension host, that a model path names a GGUF file before the engine is asked to load it:
// a typo or a deleted file then gets a clear error with a way out instead of an engine failure.
import { promises as fsp } from 'node:fs';
import { ModelFileError } from '../errors';

/** The four bytes every GGUF file starts with. */
const GGUF_MAGIC = 'GGUF';

/** Resolves when `path` is a readable file that starts with the GGUF magic; rejects with ModelFileError otherwise. */
export async function checkModelFile(path: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelFileError(path, code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ModelFileError(path, 'is not a file');
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const magic = head.subarray(0, bytesRead).toString('latin1');
    if (magic !== GGUF_MAGIC) {
      throw new ModelFileError(path, `is not a GGUF file (it starts with ${JSON.stringify(magic)}, a GGUF file with "${GGUF_MAGIC}")`);
    }
  } finally {
    await handle.close();
  }
}
