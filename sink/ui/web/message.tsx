/**
 * One message: tabs for the HTML preview (sandboxed iframe, see
 * sink/ui/html-view.ts), text, source, headers, parts, links and analysis.
 * Everything taken from the mail is rendered as text by Preact; the only HTML
 * of the mail is the preview, in its own opaque-origin frame.
 */
import { useEffect, useState } from 'preact/hooks';
import type { LinkCheck, MessageDetail } from '../../../src/protocol.ts';
import type { Api } from './api.ts';
import { ApiError } from './api.ts';
import { formatSize, safeFileName } from './format.ts';

export const TABS = ['html', 'text', 'source', 'headers', 'parts', 'links', 'analysis'] as const;
export type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, string> = {
  html: 'HTML',
  text: 'Text',
  source: 'Source',
  headers: 'Headers',
  parts: 'Parts',
  links: 'Links',
  analysis: 'Analysis',
};
const WIDTHS = { desktop: '100%', tablet: '768px', phone: '375px' } as const;

export interface MessageViewProps {
  api: Api;
  id: string;
  onClose: () => void;
  onDelete: (id: string) => void;
}

export function MessageView({ api, id, onClose, onDelete }: MessageViewProps) {
  const [detail, setDetail] = useState<MessageDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('html');

  useEffect(() => {
    let live = true;
    setDetail(null);
    setError(null);
    api.detail(id).then(
      (d) => {
        if (!live) return;
        setDetail(d);
        setTab((t) => (t === 'html' && d.html === null ? 'text' : t));
      },
      (err: unknown) => {
        if (live)
          setError(err instanceof ApiError ? `${err.body.code}: ${err.message}` : String(err));
      },
    );
    return () => {
      live = false;
    };
  }, [id]);

  if (error)
    return (
      <section class="message">
        <div class="message-bar">
          <button class="back" onClick={onClose}>
            ← Back
          </button>
        </div>
        <p class="error">{error}</p>
      </section>
    );
  if (!detail)
    return (
      <section class="message" aria-busy="true">
        <p class="muted">Loading…</p>
      </section>
    );

  const a = detail.analysis;
  return (
    <section class="message" aria-label="Message">
      <div class="message-bar">
        <button class="back" onClick={onClose} title="Back to the inbox (Esc)">
          ← Back
        </button>
        <span class="spacer" />
        <button
          onClick={() =>
            void api.download(`/api/messages/${encodeURIComponent(id)}/raw`, `${id}.eml`)
          }
        >
          Download .eml
        </button>
        <button class="danger" onClick={() => onDelete(id)} title="Delete (Del)">
          Delete
        </button>
      </div>
      <header class="message-head">
        <h2 class="subject">{detail.subject ?? '(no subject)'}</h2>
        <dl class="addresses">
          <dt>From</dt>
          <dd>
            {detail.from ?? '—'}{' '}
            <span class="muted">(envelope {detail.envelope.mailFrom?.address ?? '<>'})</span>
          </dd>
          <dt>To</dt>
          <dd>
            {detail.to.join(', ') || '—'}{' '}
            <span class="muted">
              (envelope {detail.envelope.rcptTo.map((r) => r.address).join(', ')})
            </span>
          </dd>
          <dt>Date</dt>
          <dd>
            {new Date(detail.time).toLocaleString()} · {formatSize(detail.size)}
            {detail.envelope.tls ? ' · TLS' : ''}
            {detail.envelope.authUser ? ` · AUTH ${detail.envelope.authUser}` : ''}
          </dd>
        </dl>
        <div class="verdicts">
          {a && (
            <span
              class={`badge badge-dkim-${a.dkim.result === 'pass' ? 'pass' : a.dkim.result === 'none' ? 'none' : 'fail'}`}
            >
              DKIM {a.dkim.result}
            </span>
          )}
          {a && (
            <span class={`badge ${a.spamScore >= 5 ? 'badge-spam-high' : 'badge-spam'}`}>
              spam score {a.spamScore}
            </span>
          )}
          {a && (
            <span class={`badge ${a.listUnsubscribe.oneClick ? 'badge-dkim-pass' : 'badge-none'}`}>
              {a.listUnsubscribe.oneClick
                ? 'one-click unsubscribe'
                : a.listUnsubscribe.present
                  ? 'List-Unsubscribe'
                  : 'no List-Unsubscribe'}
            </span>
          )}
          {detail.attachments.length > 0 && (
            <span class="badge">
              {detail.attachments.length} attachment{detail.attachments.length === 1 ? '' : 's'}
            </span>
          )}
          {detail.parseError && (
            <span class="badge badge-spam-high">parse error: {detail.parseError}</span>
          )}
        </div>
      </header>
      <nav class="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            key={t}
            role="tab"
            aria-selected={tab === t}
            class={tab === t ? 'active' : ''}
            data-tab={t}
            onClick={() => setTab(t)}
          >
            {TAB_LABELS[t]}
            {t === 'parts' && detail.attachments.length > 0
              ? ` (${detail.attachments.length})`
              : ''}
            {t === 'links' && a ? ` (${a.links.length})` : ''}
          </button>
        ))}
      </nav>
      <div class="tab-body" role="tabpanel" data-panel={tab}>
        {tab === 'html' && <HtmlTab api={api} detail={detail} />}
        {tab === 'text' &&
          (detail.text === null ? (
            <p class="muted">This message has no text part.</p>
          ) : (
            <pre class="text-body">{detail.text}</pre>
          ))}
        {tab === 'source' && <SourceTab api={api} id={id} />}
        {tab === 'headers' && (
          <table class="kv headers">
            <tbody>
              {detail.headers.map((h, i) => (
                <tr key={i}>
                  <th>{h.name}</th>
                  <td>{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {tab === 'parts' && <PartsTab api={api} detail={detail} />}
        {tab === 'links' && <LinksTab api={api} detail={detail} />}
        {tab === 'analysis' && <AnalysisTab detail={detail} />}
      </div>
    </section>
  );
}

function HtmlTab({ api, detail }: { api: Api; detail: MessageDetail }) {
  const [path, setPath] = useState<string | null>(null);
  const [remote, setRemote] = useState(false);
  const [width, setWidth] = useState<keyof typeof WIDTHS>('desktop');
  useEffect(() => {
    setRemote(false);
    api.view(detail.id).then(
      (v) => setPath(v.path),
      () => setPath(null),
    );
  }, [detail.id]);
  if (detail.html === null) return <p class="muted">This message has no HTML part.</p>;
  return (
    <div class="html-tab">
      <div class="html-tools">
        {(Object.keys(WIDTHS) as Array<keyof typeof WIDTHS>).map((w) => (
          <button
            key={w}
            class={width === w ? 'active' : ''}
            data-width={w}
            onClick={() => setWidth(w)}
          >
            {w}
          </button>
        ))}
        <label
          class="remote-toggle"
          title="Remote images, styles and fonts are blocked until you allow them for this message"
        >
          <input
            type="checkbox"
            checked={remote}
            onChange={(e) => setRemote(e.currentTarget.checked)}
          />{' '}
          Load remote content
        </label>
      </div>
      <div class="frame-box">
        {path && (
          <iframe
            class="html-frame"
            title="HTML preview (sandboxed)"
            sandbox=""
            referrerpolicy="no-referrer"
            style={{ width: WIDTHS[width] }}
            src={`${path}${remote ? '?remote=1' : ''}`}
          />
        )}
      </div>
    </div>
  );
}

function SourceTab({ api, id }: { api: Api; id: string }) {
  const [source, setSource] = useState<string | null>(null);
  useEffect(() => {
    api.raw(id).then(setSource, (err: unknown) => setSource(`error: ${String(err)}`));
  }, [id]);
  return (
    <div>
      <div class="html-tools">
        <button
          onClick={() =>
            void api.download(`/api/messages/${encodeURIComponent(id)}/raw`, `${id}.eml`)
          }
        >
          Download .eml
        </button>
      </div>
      <pre class="source">{source ?? 'Loading…'}</pre>
    </div>
  );
}

function PartsTab({ api, detail }: { api: Api; detail: MessageDetail }) {
  return (
    <div>
      <table class="kv parts">
        <thead>
          <tr>
            <th>Part</th>
            <th>Type</th>
            <th>Size</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {detail.text !== null && (
            <tr>
              <td>text body</td>
              <td>text/plain</td>
              <td>{formatSize(detail.text.length)}</td>
              <td />
            </tr>
          )}
          {detail.html !== null && (
            <tr>
              <td>HTML body</td>
              <td>text/html</td>
              <td>{formatSize(detail.html.length)}</td>
              <td />
            </tr>
          )}
          {detail.attachments.map((att) => (
            <tr key={att.index} class="attachment-row">
              <td class="filename">
                {att.filename ?? `attachment-${att.index}`}
                {att.contentId ? <span class="muted"> (cid {att.contentId})</span> : null}
              </td>
              <td>
                {att.contentType}
                {att.disposition ? ` · ${att.disposition}` : ''}
              </td>
              <td>{formatSize(att.size)}</td>
              <td>
                <button
                  data-attachment={att.index}
                  onClick={() =>
                    void api.download(
                      `/api/messages/${encodeURIComponent(detail.id)}/attachments/${att.index}`,
                      safeFileName(att.filename, `attachment-${att.index}`),
                    )
                  }
                >
                  Download
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {detail.attachments.length === 0 && <p class="muted">No attachments.</p>}
    </div>
  );
}

function LinksTab({ api, detail }: { api: Api; detail: MessageDetail }) {
  const links = detail.analysis?.links ?? [];
  const [checks, setChecks] = useState<Map<string, LinkCheck> | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (links.length === 0)
    return <p class="muted">{detail.analysis ? 'No links.' : 'The analysis has not run yet.'}</p>;
  const check = () => {
    setBusy(true);
    setError(null);
    api
      .checkLinks(detail.id)
      .then(
        (r) => setChecks(new Map(r.links.map((l) => [l.url, l]))),
        (err: unknown) => setError(String(err)),
      )
      .finally(() => setBusy(false));
  };
  return (
    <div>
      <div class="html-tools">
        <button onClick={check} disabled={busy}>
          {busy ? 'Checking…' : 'Check links (the sink requests each)'}
        </button>
        {error && <span class="error">{error}</span>}
      </div>
      <table class="kv links">
        <tbody>
          {links.map((l, i) => {
            const c = checks?.get(l);
            return (
              <tr key={i}>
                <td class="link-url">{l}</td>
                <td class="link-status">
                  {c ? (
                    <span class={`badge ${c.ok ? 'badge-dkim-pass' : 'badge-spam-high'}`}>
                      {c.status ?? c.error}
                    </span>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function AnalysisTab({ detail }: { detail: MessageDetail }) {
  const a = detail.analysis;
  if (!a)
    return (
      <p class="muted">
        The analysis has not run yet
        {detail.parseError ? ` (parse error: ${detail.parseError})` : ''}.
      </p>
    );
  const yes = (b: boolean) => (b ? 'present' : 'missing');
  return (
    <div class="analysis">
      <h3>DKIM: {a.dkim.result}</h3>
      {a.dkim.signatures.length === 0 ? (
        <p class="muted">No DKIM-Signature header.</p>
      ) : (
        <table class="kv">
          <thead>
            <tr>
              <th>Domain</th>
              <th>Selector</th>
              <th>Result</th>
              <th>Algorithm</th>
              <th>Signed headers</th>
              <th>Info</th>
            </tr>
          </thead>
          <tbody>
            {a.dkim.signatures.map((s, i) => (
              <tr key={i}>
                <td>{s.domain}</td>
                <td>{s.selector}</td>
                <td>
                  <span class={`badge badge-dkim-${s.result === 'pass' ? 'pass' : 'fail'}`}>
                    {s.result}
                  </span>
                </td>
                <td>{s.algorithm ?? ''}</td>
                <td>{s.signedHeaders?.join(', ') ?? ''}</td>
                <td>
                  {s.info ?? ''}
                  {s.bodyLength !== undefined ? ` l=${s.bodyLength}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h3>List-Unsubscribe</h3>
      <table class="kv">
        <tbody>
          <tr>
            <th>Header</th>
            <td>{a.listUnsubscribe.present ? 'present' : 'missing'}</td>
          </tr>
          <tr>
            <th>RFC 8058 one-click</th>
            <td>
              {a.listUnsubscribe.oneClick ? 'yes (List-Unsubscribe-Post with an https URI)' : 'no'}
              {a.listUnsubscribe.oneClickDkimCovered !== undefined
                ? ` · ${a.listUnsubscribe.oneClickDkimCovered ? 'both headers signed by a passing DKIM signature' : 'not covered by a passing DKIM signature'}`
                : ''}
            </td>
          </tr>
          <tr>
            <th>URLs</th>
            <td>{a.listUnsubscribe.urls.join(' ') || '—'}</td>
          </tr>
          <tr>
            <th>mailto</th>
            <td>{a.listUnsubscribe.mailto.join(' ') || '—'}</td>
          </tr>
        </tbody>
      </table>
      <h3>Required headers</h3>
      <table class="kv">
        <tbody>
          <tr>
            <th>From</th>
            <td>{yes(a.requiredHeaders.from)}</td>
          </tr>
          <tr>
            <th>Date</th>
            <td>{yes(a.requiredHeaders.date)}</td>
          </tr>
          <tr>
            <th>Message-ID</th>
            <td>{yes(a.requiredHeaders.messageId)}</td>
          </tr>
        </tbody>
      </table>
      <h3>Spam signals: score {a.spamScore}</h3>
      {a.reasons.length === 0 ? (
        <p class="muted">No signals.</p>
      ) : (
        <table class="kv reasons">
          <thead>
            <tr>
              <th>Code</th>
              <th>Points</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {a.reasons.map((r, i) => (
              <tr key={i}>
                <td>
                  <code>{r.code}</code>
                </td>
                <td>{r.score}</td>
                <td>{r.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="muted">
        Parts: {a.hasText ? 'text' : 'no text'}, {a.hasHtml ? 'HTML' : 'no HTML'}. Heuristics, not a
        spam filter.
      </p>
    </div>
  );
}
