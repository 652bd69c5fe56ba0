/**
 * The CLI as one file: `npm run build` bundles this module with @oclif/core, every
 * command and their dependencies into dist/cli/cli.cjs (plugin/build.ts, step
 * `cli`). Both `plugin/bin/run.js` and the single executable (SEA) run that file.
 *
 * Why one file: `--help` through oclif's own loader imported ~180 modules from
 * node_modules (oclif and its dependencies) and read package.json and the
 * manifest from disk; one script, compiled once into Node's compile cache, starts
 * in a fraction of that. A SEA cannot load modules from disk at all.
 *
 * oclif still does the work (parsing, help, errors): it gets this package as a
 * plugin whose package.json and manifest were embedded at build time and whose
 * commands are loaded on demand from the bundle (each command module is evaluated
 * only when that command runs), instead of a plugin it reads from `root`.
 */
import type { Command, Interfaces } from '@oclif/core';
import { Config } from '@oclif/core/config';
import { main } from './main.ts';

/** What the build embeds: package.json's fields oclif reads, the manifest, one loader per command id. */
export interface Embedded {
  pjson: Interfaces.PJSON;
  manifest: Interfaces.Manifest;
  commands: Record<string, () => Promise<{ default: Command.Class }>>;
}

/** oclif's Plugin, served from the embedded package.json, manifest and command loaders. */
class EmbeddedPlugin implements Interfaces.Plugin {
  _base = 'kubectl-email-validate (embedded)';
  alias: string;
  commandIDs: string[];
  commands: Command.Loadable[];
  commandsDir = undefined;
  hasManifest = true;
  hooks = {};
  isRoot = true;
  moduleType = 'commonjs' as const;
  name: string;
  options: Interfaces.PluginOptions;
  pjson: Interfaces.PJSON;
  root: string;
  type = 'core';
  valid = true;
  version: string;
  readonly #loaders: Embedded['commands'];

  constructor(root: string, embedded: Embedded) {
    const { pjson, manifest, commands } = embedded;
    this.root = root;
    this.options = { root, isRoot: true, pjson };
    this.pjson = pjson;
    this.name = pjson.name;
    this.alias = pjson.name;
    this.version = pjson.version;
    this.#loaders = commands;
    this.commandIDs = Object.keys(manifest.commands);
    // Already in oclif's order (the build sorted them as oclif's Plugin.load() does).
    this.commands = Object.entries(manifest.commands).map(([id, c]) => ({
      ...c,
      load: () => this.findCommand(id, { must: true }),
      pluginAlias: this.alias,
      pluginType: this.type,
    }));
  }

  get topics(): Interfaces.Topic[] {
    return Object.entries(this.pjson.oclif.topics ?? {}).map(([name, t]) => ({
      name,
      description: t.description,
      hidden: t.hidden,
    }));
  }

  findCommand(id: string, opts: { must: true }): Promise<Command.Class>;
  findCommand(id: string, opts?: { must: boolean }): Promise<Command.Class | undefined>;
  async findCommand(id: string, opts: { must?: boolean } = {}): Promise<Command.Class | undefined> {
    const load = Object.hasOwn(this.#loaders, id) ? this.#loaders[id] : undefined;
    if (!load) {
      // oclif's words: main.ts turns "command X not found" into the user's typo and a suggestion.
      if (opts.must) throw new Error(`command ${id} not found`);
      return undefined;
    }
    const cmd = (await load()).default;
    cmd.id = id;
    cmd.plugin = this;
    return cmd;
  }

  async load(): Promise<void> {}
}

/** The oclif Config for this package, without reading package.json or the manifest from disk. */
export async function loadEmbeddedConfig(root: string, embedded: Embedded): Promise<Config> {
  const plugin = new EmbeddedPlugin(root, embedded);
  return Config.load({ root, pjson: embedded.pjson, plugins: new Map([[plugin.name, plugin]]) });
}

/** Runs the CLI with `argv` (the words after the command name). */
export function runCli(
  embedded: Embedded,
  argv: string[],
  options: { root: string; argv0: string },
): Promise<void> {
  return main(argv, { ...options, loadConfig: () => loadEmbeddedConfig(options.root, embedded) });
}
