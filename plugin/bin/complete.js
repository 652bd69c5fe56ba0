#!/usr/bin/env node
// Shell completion for `kubectl email-validate`, as the executable
// `kubectl_complete-email_validate`. kubectl (>= 1.26) runs it with the words
// typed after the plugin name, the last one being the word to complete (often
// ""), and reads back one candidate per line followed by cobra's directive line
// (`:4` = no file completion, `:0` = let the shell complete file names).
// Plain JavaScript that any Node can parse, like run.js: it re-runs itself under
// the project's pinned Node when the PATH node is too old to load the commands.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const NO_FILES = ':4';
const FILES = ':0';
const MIN = [22, 19];

const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
const root = join(here, '..', '..');

/**
 * Reading a command's flags imports the command, which needs Node >= 22.19;
 * under an older PATH node, finish the job under the project's pinned Node.
 * Only then: listing commands needs no import and stays fast.
 */
function ensureModernNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > MIN[0] || (major === MIN[0] && minor >= MIN[1]) || process.env.EV_REEXEC === '1')
    return;
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) return;
  const r = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, EV_REEXEC: '1' },
  });
  process.exit(r.status ?? 0);
}

const commandsDir = [
  join(root, 'dist', 'plugin', 'commands'),
  join(root, 'plugin', 'commands'),
].find((d) => existsSync(d));

/** Topics (directories) and commands (files) directly under `dir`, without extensions. */
function entries(dir) {
  if (!dir || !existsSync(dir)) return [];
  const out = new Set();
  for (const name of readdirSync(dir)) {
    if (
      name.endsWith('.d.ts') ||
      name.endsWith('.map') ||
      name.startsWith('.') ||
      name.startsWith('_')
    )
      continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.add(name);
    else if (/\.(js|ts)$/.test(name)) out.add(name.replace(/\.(js|ts)$/, ''));
  }
  return [...out].sort();
}

function commandFile(dir, name) {
  for (const ext of ['.js', '.ts'])
    if (existsSync(join(dir, name + ext))) return join(dir, name + ext);
  return null;
}

/** The kubeconfig files kubectl would read, first the --kubeconfig flag. */
function kubeconfigFiles(words) {
  const i = words.findIndex((w) => w === '--kubeconfig' || w.startsWith('--kubeconfig='));
  if (i >= 0)
    return [
      words[i].includes('=') ? words[i].slice(words[i].indexOf('=') + 1) : words[i + 1],
    ].filter(Boolean);
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG.split(delimiter).filter(Boolean);
  return [join(homedir(), '.kube', 'config')];
}

async function contexts(words) {
  const { parse } = await import('yaml');
  const names = new Set();
  for (const file of kubeconfigFiles(words)) {
    try {
      const doc = parse(readFileSync(file, 'utf8'));
      for (const c of doc?.contexts ?? []) if (typeof c?.name === 'string') names.add(c.name);
    } catch {
      /* unreadable or broken kubeconfig: nothing to offer */
    }
  }
  return [...names];
}

/** The command's flags, each with `values` to offer: oclif's `options`, or the command's `completionValues`. */
async function loadFlags(file) {
  if (!file) return {};
  ensureModernNode();
  try {
    const cmd = (await import(pathToFileURL(file).href)).default;
    const extra = cmd?.completionValues ?? {};
    const flags = {};
    for (const [name, def] of Object.entries(cmd?.flags ?? {})) {
      flags[name] = {
        ...def,
        values: Array.isArray(def.options)
          ? def.options
          : Array.isArray(extra[name])
            ? extra[name]
            : null,
      };
    }
    return flags;
  } catch {
    return {};
  }
}

function valuesOf(def) {
  return def?.values ?? null;
}

function flagByWord(flags, word) {
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0];
    return flags[name] ? { name, def: flags[name] } : null;
  }
  if (/^-[A-Za-z]$/.test(word)) {
    const found = Object.entries(flags).find(([, d]) => d.char === word[1]);
    return found ? { name: found[0], def: found[1] } : null;
  }
  return null;
}

async function complete(argv) {
  const words = argv.length ? argv.slice(0, -1) : [];
  const current = argv.length ? argv[argv.length - 1] : '';
  let dir = commandsDir;
  let file = null;
  let i = 0;
  // Walk topics and the command name; flags may only follow the command.
  for (; i < words.length && dir && !file; i++) {
    const w = words[i];
    if (w.startsWith('-')) break;
    const f = commandFile(dir, w);
    if (f) {
      file = f;
      continue;
    }
    if (existsSync(join(dir, w)) && statSync(join(dir, w)).isDirectory()) {
      dir = join(dir, w);
      continue;
    }
    break;
  }
  const prev = words[words.length - 1] ?? '';
  if (!file) {
    return current.startsWith('-')
      ? ['--help', NO_FILES]
      : [...entries(dir).filter((e) => e.startsWith(current)), NO_FILES];
  }
  const flags = await loadFlags(file);
  if (
    !current.startsWith('-') &&
    !(prev.startsWith('-') && flagByWord(flags, prev)?.def.type === 'option')
  ) {
    // A positional argument: `run FLOWS…`, `check FILE…`, `rules set FILE` want file names.
    return [(await takesFileArgs(file)) ? FILES : NO_FILES];
  }
  const prevFlag = flagByWord(flags, prev);
  if (prevFlag && prevFlag.def.type === 'option' && !prev.includes('=')) {
    if (prevFlag.name === 'context')
      return [...(await contexts(words)).filter((c) => c.startsWith(current)), NO_FILES];
    const values = valuesOf(prevFlag.def);
    if (values) return [...values.filter((o) => o.startsWith(current)), NO_FILES];
    if (takesFile(prevFlag)) return [FILES];
    return [NO_FILES];
  }
  if (current.startsWith('--') && current.includes('=')) {
    const [name, value] = [
      current.slice(2, current.indexOf('=')),
      current.slice(current.indexOf('=') + 1),
    ];
    const def = flags[name];
    const values = name === 'context' ? await contexts(words) : (valuesOf(def) ?? []);
    return [...values.filter((v) => v.startsWith(value)).map((v) => `--${name}=${v}`), NO_FILES];
  }
  if (current.startsWith('-')) {
    const names = ['--help'];
    for (const [name, def] of Object.entries(flags)) {
      if (def.hidden) continue;
      names.push(`--${name}`);
      if (def.type === 'boolean' && def.allowNo) names.push(`--no-${name}`);
    }
    return [...names.filter((n) => n.startsWith(current)), NO_FILES];
  }
  return [(await takesFileArgs(file)) ? FILES : NO_FILES];
}

/** One rule for every flag that takes a file: its help value is FILE (`--junit=FILE`), or it is --kubeconfig. */
function takesFile(flag) {
  return flag.def.helpValue === 'FILE' || flag.name === 'kubeconfig';
}

/** Arguments named `file` or `flows` are paths (`check FILE…`, `run FLOWS…`, `rules set FILE`). */
async function takesFileArgs(file) {
  try {
    const cmd = (await import(pathToFileURL(file).href)).default;
    return Object.keys(cmd?.args ?? {}).some((name) => name === 'file' || name === 'flows');
  } catch {
    return false;
  }
}

const lines = await complete(process.argv.slice(2));
process.stdout.write(`${lines.join('\n')}\n`);
