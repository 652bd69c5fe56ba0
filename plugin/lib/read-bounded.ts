/**
 * Reading a byte stream from outside (an HTTP body, stdin) into memory,
 * never more than a bound: either cut at the bound (the rest is read and
 * dropped, so the peer is not left blocked), or refused once it passes it.
 */

type ByteStream = AsyncIterable<Uint8Array | string>;

const asBuffer = (chunk: Uint8Array | string): Buffer =>
  typeof chunk === 'string'
    ? Buffer.from(chunk)
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** The first `max` bytes of the stream; the rest is consumed and dropped. */
export async function readTruncated(stream: ByteStream, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = asBuffer(chunk);
    if (size < max) chunks.push(buf.subarray(0, max - size));
    size += buf.length;
  }
  return Buffer.concat(chunks);
}

/** The whole stream, or what `tooLarge()` throws as soon as it passes `max` bytes (nothing more is buffered). */
export async function readAtMost(
  stream: ByteStream,
  max: number,
  tooLarge: () => never,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = asBuffer(chunk);
    size += buf.length;
    if (size > max) tooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size);
}
