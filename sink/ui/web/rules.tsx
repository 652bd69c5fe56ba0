/** The rules in force: viewable, editable; the sink validates and refuses bad rules with file:line errors. */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from './api.ts';
import { ApiError } from './api.ts';

export function RulesView({ api, version }: { api: Api; version: number }) {
  const [source, setSource] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<{ code: string; message: string; hint?: string } | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  // Read-only until the rules in force have loaded: text typed earlier would be overwritten by them.
  useEffect(() => {
    api.rules().then(
      (text) => {
        setSource(text);
        setDraft(text);
      },
      (err: unknown) => setError({ code: 'LOAD', message: String(err) }),
    );
  }, [version]);

  const save = () => {
    setError(null);
    setSaved(null);
    api.setRules(draft).then(
      (r) => {
        setSaved(`saved: ${r.count} rule${r.count === 1 ? '' : 's'} in force`);
        setSource(draft);
      },
      (err: unknown) => {
        setError(err instanceof ApiError ? err.body : { code: 'ERROR', message: String(err) });
      },
    );
  };

  return (
    <section class="rules" aria-label="Rules">
      <p class="muted">
        Rules simulate bounces, deferrals, delays and webhooks (see docs/sink.md). Built-in
        conventions (recipients starting with bounce, defer, asyncbounce) apply without rules.
      </p>
      <textarea
        class="rules-editor"
        spellcheck={false}
        value={draft}
        readOnly={source === null}
        onInput={(e) => setDraft(e.currentTarget.value)}
        aria-label="Rules YAML"
        placeholder="rules: []"
      />
      <div class="toolbar">
        <button class="primary" onClick={save} disabled={source === null || draft === source}>
          Save rules
        </button>
        <button
          onClick={() => {
            setDraft(source ?? '');
            setError(null);
          }}
          disabled={draft === source}
        >
          Revert
        </button>
        {saved && <span class="ok">{saved}</span>}
      </div>
      {error && (
        <div class="rules-error" role="alert">
          <strong>{error.code}</strong>
          <pre>{error.message}</pre>
          {error.hint && <p class="muted">hint: {error.hint}</p>}
        </div>
      )}
    </section>
  );
}
