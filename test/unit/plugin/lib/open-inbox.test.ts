import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { browserCommands, inboxUrl, openBrowser } from '../../../../plugin/lib/open-inbox.ts';

describe('open: inbox URL and browser', () => {
  it('puts the token and namespace in the fragment, never in the query', () => {
    const url = new URL(inboxUrl('http://127.0.0.1:34567/', 'a+b/c=', 'team-ns'));
    assert.equal(url.search, '');
    assert.equal(url.pathname, '/');
    const fragment = new URLSearchParams(url.hash.slice(1));
    assert.equal(fragment.get('token'), 'a+b/c=');
    assert.equal(fragment.get('namespace'), 'team-ns');
    assert.equal(inboxUrl('http://127.0.0.1:8025', null), 'http://127.0.0.1:8025/');
  });

  it('tries $BROWSER entries first (with %s), then the platform opener', () => {
    const url = 'http://127.0.0.1:1/#token=x';
    assert.deepEqual(
      browserCommands(url, { BROWSER: 'firefox --new-tab:chromium %s --incognito' }, 'linux'),
      [
        { command: 'firefox', args: ['--new-tab', url] },
        { command: 'chromium', args: [url, '--incognito'] },
      ],
    );
    assert.deepEqual(browserCommands(url, { DISPLAY: ':0' }, 'linux'), [
      { command: 'xdg-open', args: [url] },
    ]);
    assert.deepEqual(browserCommands(url, {}, 'linux'), [], 'no display, no browser');
    assert.deepEqual(browserCommands(url, {}, 'darwin'), [{ command: 'open', args: [url] }]);
  });

  it('never throws: a command that cannot start is skipped, the next one is tried', async () => {
    const tried: string[] = [];
    const spawn = (command: string) => {
      tried.push(command);
      const child = new EventEmitter() as ChildProcess;
      (child as unknown as { unref(): void }).unref = () => {};
      queueMicrotask(() =>
        child.emit(command === 'missing' ? 'error' : 'spawn', new Error('ENOENT')),
      );
      return child;
    };
    const ok = await openBrowser('http://x/', {
      env: { BROWSER: 'missing:works' },
      platform: 'linux',
      spawn,
    });
    assert.deepEqual(ok, { opened: true, command: 'works' });
    assert.deepEqual(tried, ['missing', 'works']);
    const none = await openBrowser('http://x/', {
      env: { BROWSER: 'missing' },
      platform: 'linux',
      spawn,
    });
    assert.deepEqual(none, { opened: false, reason: 'could not start missing' });
  });
});
