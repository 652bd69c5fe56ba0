/**
 * Entry of the inbox page. The API token arrives in the URL fragment
 * (`/#token=…`, never sent to a server, so never in a log or a Referer), is
 * moved to sessionStorage and the fragment is removed from the address bar.
 * Without a token, or with a wrong one, a short form asks for it; a sink
 * started with `--no-auth` opens directly.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { Api, ApiError } from './api.ts';
import { App } from './app.tsx';
import './styles.css';

const TOKEN_KEY = 'ev-inbox-token';
const NAMESPACE_KEY = 'ev-inbox-namespace';

/** Moves a token (and namespace) from the fragment to sessionStorage; true when there was one. */
function takeFragment(): boolean {
  if (location.hash.length < 2) return false;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  const namespace = params.get('namespace');
  if (token === null && namespace === null) return false;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  if (namespace) sessionStorage.setItem(NAMESPACE_KEY, namespace);
  params.delete('token');
  params.delete('namespace');
  const rest = params.toString();
  history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return token !== null;
}

function TokenForm({ refused, onToken }: { refused: boolean; onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="token-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onToken(value.trim());
      }}
    >
      <h1>email sink inbox</h1>
      <p>
        This sink's API needs its token. <code>kubectl email-validate open</code> passes it for you;
        otherwise paste the token the sink printed (or its Secret's <code>token</code>).
      </p>
      {refused && (
        <p class="error" role="alert">
          That token was refused.
        </p>
      )}
      <label>
        API token{' '}
        <input
          type="password"
          name="token"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          autofocus
        />
      </label>
      <button class="primary" type="submit">
        Open the inbox
      </button>
    </form>
  );
}

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const api = new Api(sessionStorage.getItem(TOKEN_KEY));
  const askToken = (wasRefused: boolean) =>
    render(
      <TokenForm
        refused={wasRefused}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          void boot();
        }}
      />,
      root,
    );
  let info;
  try {
    info = await api.info();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      askToken(api.token !== null);
      return;
    }
    render(<p class="error pad">Cannot reach the sink's API: {String(err)}</p>, root);
    return;
  }
  render(null, root);
  render(
    <App
      api={api}
      initialInfo={info}
      namespace={sessionStorage.getItem(NAMESPACE_KEY)}
      onUnauthorized={() => {
        sessionStorage.removeItem(TOKEN_KEY);
        render(null, root);
        askToken(true);
      }}
    />,
    root,
  );
}

takeFragment();
void boot();
// A link with a new token opened in the same tab changes only the fragment: no reload, so take it here.
window.addEventListener('hashchange', () => {
  if (takeFragment()) location.reload();
});
