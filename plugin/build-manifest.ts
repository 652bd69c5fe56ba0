/**
 * Writes oclif.manifest.json at build time (after tsc), so oclif lists
 * commands and prints `--help` from this file instead of importing every
 * command module (and their dependencies) on each start. Equivalent to
 * `oclif manifest` without installing the oclif CLI package.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = await Config.load({ root, ignoreManifest: true } as Parameters<typeof Config.load>[0]);
const plugin = config.getPluginsList().find((p) => p.root === root) ?? config.getPluginsList()[0];
// `manifest` is set by Plugin.load() but not part of the public Plugin interface.
const manifest = (plugin as unknown as { manifest?: { commands: Record<string, unknown> } }).manifest;
if (!manifest || Object.keys(manifest.commands).length === 0) {
  process.stderr.write('build-manifest: no commands found (did tsc run?)\n');
  process.exit(1);
}
writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(manifest)}\n`);
process.stderr.write(`build-manifest: ${Object.keys(manifest.commands).length} commands\n`);
