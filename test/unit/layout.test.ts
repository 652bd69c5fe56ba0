/**
 * The import boundaries the layout promises (CONTRIBUTING.md):
 *  - src/ is pure: no network, files, processes or timers of its own; of Node's
 *    modules it uses only crypto and zlib, and only the listed libraries;
 *  - src/system-clock.ts (the real clock, shared by the edges) is imported by no file in src/;
 *  - sink/ never imports the plugin; the plugin reaches sink/ only through sink/index.ts;
 *  - checker/ (the shard program) never imports the plugin; the plugin reaches
 *    checker/ only through checker/index.ts (the stages and I/O a local check
 *    shares with the shards);
 *  - src/ imports neither;
 *  - nothing that ships imports from test/;
 *  - test/unit mirrors the source: a unit test (or its helper) lives at the path of the folder
 *    it covers, test/unit/<folder>/, where <folder> exists (src/…, sink/…, plugin/…, checker/…,
 *    test/support/…, manifests/).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What src/ may import from outside itself: pure computation only. */
const SRC_ALLOWED_NODE = new Set(['node:crypto', 'node:zlib']);
const SRC_ALLOWED_PACKAGES = new Set([
  'yaml',
  'tr46',
  'p-limit',
  're2js',
  '@zootools/email-spell-checker',
  'disposable-email-domains-js',
  'free-email-domains',
]);

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

interface Import {
  file: string;
  specifier: string;
  target: string | null;
}

/** Static and dynamic imports of a file; `target` is the repository path of a relative one. */
function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map(({ fileName }) => ({
    file,
    specifier: fileName,
    target: fileName.startsWith('.')
      ? relative(ROOT, resolve(ROOT, dirname(file), fileName))
      : null,
  }));
}

/** Specifiers a file imports only with `import type` (erased at build: no code, no I/O). */
function typeOnly(file: string): Set<string> {
  const sf = ts.createSourceFile(
    file,
    readFileSync(join(ROOT, file), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const types = new Set<string>();
  const values = new Set<string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    (st.importClause?.isTypeOnly ? types : values).add(st.moduleSpecifier.text);
  }
  return new Set([...types].filter((t) => !values.has(t)));
}

/** The trees a unit test may mirror. */
const MIRRORED = ['src', 'sink', 'plugin', 'checker', 'test/support', 'manifests'];
/** Unit tests of the repository as a whole, which no one folder owns. */
const WHOLE_TREE_TESTS = new Set(['test/unit/layout.test.ts']);

/** Files under test/unit not at a mirrored path: their folder must exist in the source. */
function misplacedUnitFiles(): string[] {
  return readdirSync(join(ROOT, 'test/unit'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter((f) => !WHOLE_TREE_TESTS.has(f))
    .filter((f) => {
      const folder = dirname(relative('test/unit', f));
      const mirrored = MIRRORED.some((m) => folder === m || folder.startsWith(`${m}/`));
      return !mirrored || !existsSync(join(ROOT, folder));
    });
}

const shipped = ['src', 'sink', 'plugin', 'checker']
  .flatMap(tsFiles)
  .filter((f) => f !== 'plugin/build.ts' && f !== 'plugin/release.ts');
const imports = shipped.flatMap(importsOf);
const show = (list: Import[]) => list.map((i) => `${i.file}: ${i.specifier}`);

describe('layout: import boundaries', () => {
  it('finds the code it checks', () => {
    assert.ok(shipped.length > 100, `${shipped.length} files`);
    assert.ok(
      imports.some((i) => i.target === 'sink/index.ts' && i.file.startsWith('plugin/')),
      'sees plugin -> sink/index.ts',
    );
  });

  it('src/ imports only pure modules: its own, crypto and zlib, and the listed libraries (types from anywhere: they are erased)', () => {
    const bad = imports
      .filter((i) => i.file.startsWith('src/') && !typeOnly(i.file).has(i.specifier))
      .filter((i) =>
        i.target !== null
          ? !i.target.startsWith('src/')
          : i.specifier.startsWith('node:')
            ? !SRC_ALLOWED_NODE.has(i.specifier)
            : !SRC_ALLOWED_PACKAGES.has(
                i.specifier
                  .split('/')
                  .slice(0, i.specifier.startsWith('@') ? 2 : 1)
                  .join('/'),
              ),
      );
    assert.deepEqual(show(bad), []);
  });

  it('src/ never uses the real clock: its code takes a Clock (the edges pass src/system-clock.ts)', () => {
    assert.deepEqual(
      show(imports.filter((i) => i.file.startsWith('src/') && i.target === 'src/system-clock.ts')),
      [],
    );
    assert.ok(
      imports.some((i) => i.target === 'src/system-clock.ts' && i.file.startsWith('sink/')),
      'sees sink/ -> src/system-clock.ts',
    );
  });

  it('sink/ never imports the plugin', () => {
    assert.deepEqual(
      show(imports.filter((i) => i.file.startsWith('sink/') && i.target?.startsWith('plugin/'))),
      [],
    );
  });

  it('the plugin reaches sink/ only through sink/index.ts', () => {
    assert.deepEqual(
      show(
        imports.filter(
          (i) =>
            i.file.startsWith('plugin/') &&
            i.target?.startsWith('sink/') &&
            i.target !== 'sink/index.ts',
        ),
      ),
      [],
    );
  });

  it('checker/ never imports the plugin (shared stages live in src/check, shared I/O in checker/)', () => {
    assert.ok(
      imports.some((i) => i.file.startsWith('checker/') && i.target?.startsWith('src/')),
      'sees checker -> src',
    );
    assert.deepEqual(
      show(imports.filter((i) => i.file.startsWith('checker/') && i.target?.startsWith('plugin/'))),
      [],
    );
  });

  it('the plugin reaches checker/ only through checker/index.ts', () => {
    assert.ok(
      imports.some((i) => i.target === 'checker/index.ts' && i.file.startsWith('plugin/')),
      'sees plugin -> checker/index.ts',
    );
    assert.deepEqual(
      show(
        imports.filter(
          (i) =>
            i.file.startsWith('plugin/') &&
            i.target?.startsWith('checker/') &&
            i.target !== 'checker/index.ts',
        ),
      ),
      [],
    );
  });

  it('test/unit mirrors the source: each file sits under the folder it covers (test/unit/src/flow/… for src/flow/…)', () => {
    assert.ok(
      existsSync(join(ROOT, 'test/unit/src/flow/parse.test.ts')),
      'finds the mirrored tests it checks',
    );
    assert.deepEqual(misplacedUnitFiles(), []);
  });

  it('nothing that ships imports from test/', () => {
    assert.deepEqual(show(imports.filter((i) => i.target?.startsWith('test/'))), []);
  });
});
