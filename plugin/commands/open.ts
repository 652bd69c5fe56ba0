import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.ts';
import { interrupts } from '../lib/interrupts.ts';
import { inboxUrl, openBrowser } from '../lib/open-inbox.ts';
import { resolveSinkTarget, type SinkTarget } from '../lib/sink-target.ts';
import { sinkFlags } from '../lib/sink-flags.ts';
import { evError } from '../../src/errors.ts';

export default class Open extends BaseCommand {
  static override summary =
    "Open the sink's web inbox in a browser (through a tunnel for a sink in the cluster).";
  static override description = `Finds the sink as \`tail\` does (NAME or -n for the namespace, else the only sink in the context; or --sink URL), opens a tunnel to it, prints the inbox's local URL and opens it in the browser ($BROWSER, else the system's opener; nothing is opened where there is no display). The API token is passed in the URL's fragment, which never reaches a server log or a Referer header; the page keeps it for the tab's session only.

For a sink in the cluster the tunnel stays open until Ctrl-C. With --sink, the URL is printed (and opened) and the command returns.

-o json prints [{"name", "url"}] (one entry per sink pod) instead of text.`;
  static override examples = [
    {
      description: 'Open the inbox of the only sink in the current context',
      command: '<%= config.bin %> open',
    },
    {
      description: 'The sink in one namespace, print the URL only (e.g. over SSH)',
      command: '<%= config.bin %> open email-validation-20260101-120000-abcde --no-browser',
    },
    {
      description: 'A sink started with `kubectl email-validate sink`',
      command: '<%= config.bin %> open --sink http://127.0.0.1:8025 --token "$EV_TOKEN"',
    },
  ];
  static override args = {
    name: Args.string({ description: 'Namespace of the sink (same as -n).' }),
  };
  static override flags = {
    browser: Flags.boolean({
      description: 'Open the browser; --no-browser only prints the URL.',
      default: true,
      allowNo: true,
    }),
    output: Flags.option({
      char: 'o',
      description: 'Output format of the URL(s).',
      options: ['text', 'json'] as const,
      default: 'text',
      helpGroup: 'OUTPUT',
    })(),
    ...sinkFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Open);
    if (args.name !== undefined && flags.namespace !== undefined && args.name !== flags.namespace) {
      throw evError(
        'EV_ERR_CONFLICTING_OPTIONS',
        `NAME ${args.name} and -n ${flags.namespace} name different sinks`,
        { hint: 'give the namespace once' },
      );
    }
    if (args.name !== undefined && flags.sink !== undefined) {
      throw evError('EV_ERR_CONFLICTING_OPTIONS', 'NAME cannot be combined with --sink', {
        hint: 'NAME is the namespace of a sink in the cluster; --sink is a sink you reach directly',
      });
    }
    const interrupt = interrupts.install();
    const target: SinkTarget = await resolveSinkTarget(
      { ...flags, namespace: args.name ?? flags.namespace },
      { signal: interrupt.signal, onStatus: (l) => this.status(l) },
    );
    const unregister =
      target.kind === 'cluster'
        ? interrupt.register('tunnels to the sink', () => target.close())
        : () => {};
    try {
      // Fails fast (unreachable sink, wrong token) before a browser opens on an error page.
      await target.sinks[0].api.info();
      const pages = target.sinks.map((s) => ({
        name: s.name,
        url: inboxUrl(s.apiUrl, s.token ?? flags.token, target.namespace),
      }));
      this.emit(flags.output, pages, () =>
        pages.map((p) => (pages.length > 1 ? `${p.name}  ${p.url}` : p.url)).join('\n'),
      );
      if (pages.length > 1)
        this.status(
          `${pages.length} sink pods: each keeps its own messages, so each has its own inbox`,
        );
      if (flags.browser) {
        const result = await openBrowser(pages[0].url);
        this.status(
          result.opened
            ? `opened the inbox in the browser (${result.command})`
            : `open the URL above in a browser: ${result.reason}`,
        );
      }
      if (target.kind === 'cluster') {
        this.status('the tunnel stays open; press Ctrl-C to close it');
        await new Promise<void>((resolve) =>
          interrupt.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        await interrupt.holdIfInterrupted();
      }
    } finally {
      unregister();
      await target.close();
    }
  }
}
