/**
 * The web inbox's URL, and opening it in the user's browser, best effort: `$BROWSER` first (a
 * colon-separated list of commands, as xdg-utils and Python's webbrowser read
 * it; `%s` in a command is replaced by the URL), then the platform's opener
 * (`open` on macOS, `start` on Windows, `xdg-open` on Linux with a display).
 * Never throws: where no browser can be started the caller has already
 * printed the URL, and the reason comes back for a status line.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** The inbox URL: the token rides in the fragment, which browsers never send to a server or in a Referer. */
export function inboxUrl(
  apiUrl: string,
  token: string | null | undefined,
  namespace: string | null = null,
): string {
  const fragment = new URLSearchParams();
  if (token) fragment.set('token', token);
  if (namespace) fragment.set('namespace', namespace);
  const hash = fragment.toString();
  return `${apiUrl.replace(/\/+$/, '')}/${hash ? `#${hash}` : ''}`;
}

export interface OpenBrowserDeps {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess;
}

/** The command lines that would be tried, in order (exported for tests). */
export function browserCommands(
  url: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
): Array<{ command: string; args: string[] }> {
  const out: Array<{ command: string; args: string[] }> = [];
  for (const entry of (env.BROWSER ?? '')
    .split(':')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const words = entry.split(/\s+/);
    const hasPlaceholder = words.some((w) => w.includes('%s'));
    const args = words.slice(1).map((w) => w.replaceAll('%s', url));
    out.push({ command: words[0], args: hasPlaceholder ? args : [...args, url] });
  }
  if (platform === 'darwin') out.push({ command: 'open', args: [url] });
  else if (platform === 'win32')
    out.push({ command: 'cmd', args: ['/c', 'start', '""', url.replace(/&/g, '^&')] });
  else if (env.DISPLAY || env.WAYLAND_DISPLAY) out.push({ command: 'xdg-open', args: [url] });
  return out;
}

/** Resolves with the command that started, or with why none did. */
export async function openBrowser(
  url: string,
  deps: OpenBrowserDeps = {},
): Promise<{ opened: true; command: string } | { opened: false; reason: string }> {
  const env = deps.env ?? process.env;
  const commands = browserCommands(url, env, deps.platform ?? process.platform);
  if (commands.length === 0)
    return { opened: false, reason: 'no browser here (no $BROWSER and no display)' };
  const doSpawn = deps.spawn ?? spawn;
  const failures: string[] = [];
  for (const { command, args } of commands) {
    const started = await new Promise<boolean>((resolve) => {
      let child: ChildProcess;
      try {
        child = doSpawn(command, args, { stdio: 'ignore', detached: true, env });
      } catch {
        resolve(false);
        return;
      }
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
    if (started) return { opened: true, command };
    failures.push(command);
  }
  return { opened: false, reason: `could not start ${failures.join(', ')}` };
}
