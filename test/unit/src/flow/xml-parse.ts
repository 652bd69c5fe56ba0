/**
 * A small, strict XML parser for reading JUnit reports back in tests: elements,
 * attributes (double or single quoted), text, the five predefined entities and
 * numeric character references, comments and the XML declaration. It throws
 * on anything malformed (unclosed or mismatched tags, a raw `<` or `&` in
 * text, duplicate attributes, characters XML 1.0 forbids), which is the point:
 * a report CI tools would refuse must fail the test.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const NAME = /^[A-Za-z_][\w.-]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: number): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '<') throw new Error(`raw "<" at ${where + i}`);
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = raw.indexOf(';', i);
    if (end < 0) throw new Error(`unterminated entity at ${where + i}`);
    const ref = raw.slice(i + 1, end);
    if (ref.startsWith('#x')) out += String.fromCodePoint(parseInt(ref.slice(2), 16));
    else if (ref.startsWith('#')) out += String.fromCodePoint(parseInt(ref.slice(1), 10));
    else if (ref in ENTITIES) out += ENTITIES[ref];
    else throw new Error(`unknown entity &${ref}; at ${where + i}`);
    i = end;
  }
  return out;
}

export function parseXml(source: string): XmlElement {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/.exec(source);
  if (bad)
    throw new Error(
      `character U+${bad[0].charCodeAt(0).toString(16)} is not allowed in XML at ${bad.index}`,
    );
  let pos = 0;
  const skipMisc = (): void => {
    for (;;) {
      const ws = /^\s*/.exec(source.slice(pos));
      pos += ws ? ws[0].length : 0;
      if (source.startsWith('<?', pos)) {
        const end = source.indexOf('?>', pos);
        if (end < 0) throw new Error('unterminated declaration');
        pos = end + 2;
      } else if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos);
        if (end < 0) throw new Error('unterminated comment');
        pos = end + 3;
      } else return;
    }
  };
  const element = (): XmlElement => {
    if (source[pos] !== '<') throw new Error(`expected "<" at ${pos}`);
    pos++;
    const name = NAME.exec(source.slice(pos))?.[0];
    if (!name) throw new Error(`bad element name at ${pos}`);
    pos += name.length;
    const el: XmlElement = { name, attrs: {}, children: [], text: '' };
    for (;;) {
      const ws = /^\s*/.exec(source.slice(pos))?.[0] ?? '';
      pos += ws.length;
      if (source.startsWith('/>', pos)) {
        pos += 2;
        return el;
      }
      if (source[pos] === '>') {
        pos++;
        break;
      }
      if (!ws) throw new Error(`expected whitespace before an attribute at ${pos}`);
      const attr = NAME.exec(source.slice(pos))?.[0];
      if (!attr) throw new Error(`bad attribute at ${pos}`);
      pos += attr.length;
      if (source[pos] !== '=') throw new Error(`expected "=" at ${pos}`);
      const quote = source[pos + 1];
      if (quote !== '"' && quote !== "'") throw new Error(`expected a quote at ${pos + 1}`);
      const end = source.indexOf(quote, pos + 2);
      if (end < 0) throw new Error('unterminated attribute');
      if (attr in el.attrs) throw new Error(`duplicate attribute ${attr}`);
      el.attrs[attr] = decode(source.slice(pos + 2, end), pos + 2);
      pos = end + 1;
    }
    for (;;) {
      const next = source.indexOf('<', pos);
      if (next < 0) throw new Error(`unclosed <${name}>`);
      el.text += decode(source.slice(pos, next), pos);
      pos = next;
      if (source.startsWith('<!--', pos)) {
        const end = source.indexOf('-->', pos);
        if (end < 0) throw new Error('unterminated comment');
        pos = end + 3;
      } else if (source.startsWith('</', pos)) {
        const close = NAME.exec(source.slice(pos + 2))?.[0];
        if (close !== name) throw new Error(`</${close}> closes <${name}> at ${pos}`);
        pos += 2 + name.length;
        const ws = /^\s*>/.exec(source.slice(pos));
        if (!ws) throw new Error(`expected ">" at ${pos}`);
        pos += ws[0].length;
        return el;
      } else el.children.push(element());
    }
  };
  skipMisc();
  const root = element();
  skipMisc();
  if (pos !== source.length) throw new Error(`content after the root element at ${pos}`);
  return root;
}

export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
