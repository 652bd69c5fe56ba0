import { readFile } from 'node:fs/promises';
import { evError } from '../../src/errors.ts';

/** Most bytes read from --token-file: a token is a line, not a file's worth. */
export const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * Reads `--token-file`: the sink's API token, trimmed. `read` is injectable
 * for tests (default: the file system). Usage error when the file is empty.
 */
export async function readTokenFile(
  path: string,
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<string> {
  let text: string;
  try {
    text = await read(path);
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : String(err);
    throw evError('EV_ERR_FILE_READ', `cannot read --token-file ${path}: ${code}`, {
      hint: 'check the path and its permissions',
      cause: err,
    });
  }
  const token = text.slice(0, MAX_TOKEN_FILE_BYTES).trim();
  if (!token)
    throw evError('EV_ERR_INVALID_OPTION', `--token-file ${path} is empty`, {
      hint: "the file must hold the sink's API token",
    });
  return token;
}
