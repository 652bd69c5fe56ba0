/**
 * Real-browser support for the inbox tests: Debian's Chromium driven by
 * playwright-core, one browser per test file. Without Chromium the tests skip
 * with the reason printed; with CI=true a missing Chromium fails the run, so CI
 * never passes by skipping (.ci/run installs the package). See require-tool.ts.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chromium,
  type BrowserContext,
  type Page,
  type Request,
  type Route,
} from 'playwright-core';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import {
  startSink,
  silentLogger,
  type RunningSink,
  type SinkOptions,
} from '../../../../sink/index.ts';
import { requireTool } from '../../../support/require-tool.ts';

/** Debian's package installs it here. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';
let chromiumPath = DEBIAN_CHROMIUM;

/** Skips the suite (or fails it under CI=true) when Chromium is missing; fails when the inbox was not built. */
export function requireBrowser(ctx: Mocha.Context): void {
  chromiumPath = requireTool(ctx, 'chromium', 'chromium', [DEBIAN_CHROMIUM]);
  if (!existsSync(new URL('../../../../dist/ui/assets.json', import.meta.url)))
    throw new Error('the inbox is not built: run `npm run build` first');
}

export interface BrowserHarness {
  context: BrowserContext;
  page: Page;
  /** Requests for hosts other than loopback that reached the network layer (all are aborted). */
  remoteRequests: string[];
  /** The same, with the URL of the frame that made each (the preview frame's URL names the message). */
  remoteRequestFrames: Array<{ url: string; frame: string }>;
  close(): Promise<void>;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  } catch {
    return true; // data:, blob:, about: have no host and leave nothing
  }
}

export async function launchBrowser(
  viewport = { width: 1280, height: 800 },
): Promise<BrowserHarness> {
  const profile = mkdtempSync(join(tmpdir(), 'ev-inbox-chromium-'));
  // A fresh profile directory per browser (Playwright passes it as --user-data-dir).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport,
    acceptDownloads: true,
  });
  const remoteRequests: string[] = [];
  const remoteRequestFrames: Array<{ url: string; frame: string }> = [];
  await context.route(
    (url) => !isLoopback(url.href),
    (route: Route, request: Request) => {
      remoteRequests.push(request.url());
      let frame = '';
      try {
        frame = request.frame().url();
      } catch {
        /* a service worker or a detached frame */
      }
      remoteRequestFrames.push({ url: request.url(), frame });
      void route.abort('blockedbyclient');
    },
  );
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => process.stderr.write(`  page error: ${err.message}\n`));
  return {
    context,
    page,
    remoteRequests,
    remoteRequestFrames,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface MailSink {
  sink: RunningSink;
  send(message: SendMailOptions): Promise<void>;
  close(): Promise<void>;
}

export async function startMailSink(options: Partial<SinkOptions> = {}): Promise<MailSink> {
  const sink = await startSink({ logger: silentLogger, ...options });
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 2,
  });
  return {
    sink,
    async send(message) {
      await transport.sendMail(message);
    },
    async close() {
      transport.close();
      await sink.stop();
    },
  };
}

/** The inbox URL with the token in the fragment, as `open` prints it. */
export function inboxUrl(sink: RunningSink): string {
  return sink.token === null
    ? `${sink.url}/`
    : `${sink.url}/#token=${encodeURIComponent(sink.token)}`;
}
