import { styleText } from 'node:util';

/** The styles the renderers use; a subset of node:util's `styleText` formats. */
export type Style =
  'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'bold' | 'dim';

/** Applies styles to text, or returns it unchanged when colour is off. */
export type Paint = (style: Style | readonly Style[], text: string) => string;

export const plain: Paint = (_style, text) => text;

// validateStream: false because the decision (TTY, NO_COLOR) is made once, by
// `shouldColor`, for the stream we actually write to.
export const colored: Paint = (style, text) =>
  styleText(style as Parameters<typeof styleText>[0], text, { validateStream: false });

/**
 * Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org:
 * any non-empty value) or TERM is `dumb`. FORCE_COLOR is left to the user's
 * terminal: tests and pipes get plain text.
 */
export function shouldColor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export function painterFor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined>,
): Paint {
  return shouldColor(stream, env) ? colored : plain;
}
