/** Small display helpers (text only: nothing here builds markup). */

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function formatTime(iso: string, now = Date.now()): string {
  const d = new Date(iso);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400)
    return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

/** A file name safe to hand to the download attribute (the browser sanitises too). */
export function safeFileName(name: string | null, fallback: string): string {
  const cleaned = Array.from(name ?? '', (c) =>
    c.charCodeAt(0) < 32 || '\\/:*?"<>|'.includes(c) ? '_' : c,
  )
    .join('')
    .trim();
  return cleaned.length > 0 ? cleaned.slice(0, 200) : fallback;
}
