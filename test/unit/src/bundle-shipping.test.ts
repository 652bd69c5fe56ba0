import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLE_PART_BYTES,
  bootstrapProgram,
  bundlePartName,
  shipBundle,
  splitBytes,
} from '../../../src/bundle-shipping.ts';

describe('bundle shipping (src/bundle-shipping.ts)', () => {
  it('cuts a bundle into ConfigMaps whose parts the bootstrap joins, unpacks under the given name and runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ev-ship-'));
    const bundleDir = join(dir, 'bundle');
    mkdirSync(bundleDir);
    // Incompressible filler: the program spans several parts, so their join order matters.
    const filler = randomBytes(600_000).toString('base64');
    const program = `import { writeFileSync } from 'node:fs';\nconst filler = ${JSON.stringify(filler)};\nwriteFileSync(${JSON.stringify(join(dir, 'ran'))}, process.argv[1] + ' ' + filler.length);\n`;
    const shipped = shipBundle(Buffer.from(program), {
      configMapName: (i) => `thing-bundle-${i}`,
      metadataOf: (name) => ({ name, namespace: 'ns' }),
      volumeName: 'bundle',
    });
    assert.ok(shipped.configMaps.length >= 2, `${shipped.configMaps.length} parts`);
    assert.deepEqual(
      (shipped.volume as { projected: { sources: unknown[] } }).projected.sources,
      shipped.configMaps.map((cm) => ({ configMap: { name: cm.metadata.name } })),
    );
    shipped.configMaps.forEach((cm, i) => {
      const part = Buffer.from(
        (cm.binaryData as Record<string, string>)[bundlePartName(i)],
        'base64',
      );
      assert.ok(part.length <= BUNDLE_PART_BYTES);
      writeFileSync(join(bundleDir, bundlePartName(i)), part);
    });
    execFileSync(process.execPath, ['-e', bootstrapProgram('thing.bundle.mjs')], {
      env: { ...process.env, EV_BUNDLE_DIR: bundleDir, EV_WORK_DIR: dir },
    });
    assert.equal(
      readFileSync(join(dir, 'ran'), 'utf8'),
      `${join(dir, 'thing.bundle.mjs')} ${filler.length}`,
    );
    assert.match(shipped.sha256, /^[0-9a-f]{64}$/);
  });

  it('takes only a plain .mjs file name (it ends up inside the program text)', () => {
    for (const bad of ['x.js', '../x.mjs', "x'.mjs", 'a/b.mjs', '', 'x.mjs.js', 'x.mjs\n'])
      assert.throws(() => bootstrapProgram(bad), RangeError, bad);
    assert.throws(() => bootstrapProgram('x.js'), {
      message: 'bundle file name "x.js" must be a plain .mjs name',
    });
  });

  it('splits into full parts and a shorter last one, never an empty trailing part, and one empty part for nothing', () => {
    const sizes = (n: number, size: number): number[] =>
      splitBytes(new Uint8Array(n), size).map((p) => p.length);
    assert.deepEqual(sizes(4, 2), [2, 2]);
    assert.deepEqual(sizes(5, 2), [2, 2, 1]);
    assert.deepEqual(sizes(1, 2), [1]);
    assert.deepEqual(sizes(0, 2), [0]);
  });
});
