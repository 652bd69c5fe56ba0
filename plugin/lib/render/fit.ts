/**
 * Cuts a line to a terminal width, counting characters (code points) but not
 * the SGR colour sequences (`ESC [ … m`) the renderers add; a cut line ends
 * with `…` and, if it was coloured, a reset so the colour does not leak.
 */
const ESC = '\u001b';

/** Longest SGR sequence recognised: anything longer is counted as text (the renderers only emit short ones). */
const MAX_SGR_CHARS = 32;

function sgrLength(s: string, i: number): number {
  if (s[i] !== ESC || s[i + 1] !== '[') return 0;
  for (let j = i + 2; j < s.length && j - i < MAX_SGR_CHARS; j++) {
    const c = s.charCodeAt(j);
    if (s[j] === 'm') return j - i + 1;
    if (!((c >= 0x30 && c <= 0x39) || s[j] === ';')) return 0;
  }
  return 0;
}

export function fitToWidth(line: string, width: number): string {
  if (width < 1) return '';
  let visible = 0;
  for (let i = 0; i < line.length;) {
    const sgr = sgrLength(line, i);
    if (sgr > 0) {
      i += sgr;
      continue;
    }
    i += (line.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    visible++;
  }
  if (visible <= width) return line;
  let out = '';
  let kept = 0;
  let colored = false;
  for (let i = 0; i < line.length && kept < width - 1;) {
    const sgr = sgrLength(line, i);
    if (sgr > 0) {
      out += line.slice(i, i + sgr);
      colored = true;
      i += sgr;
      continue;
    }
    const n = (line.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    out += line.slice(i, i + n);
    i += n;
    kept++;
  }
  return `${out}…${colored ? `${ESC}[0m` : ''}`;
}

/** Breaks a sentence into lines of at most `width` characters at spaces (a word longer than the width keeps its own line). */
export function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current === '') current = word;
    else if (Array.from(current).length + 1 + Array.from(word).length <= width)
      current += ` ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  lines.push(current);
  return lines.join('\n');
}
