import type { SendReport } from '../send/send-batch.ts';
import { plain, type Paint } from './color.ts';
import { clean } from './event-line.ts';
import { formatDuration } from '../../../src/duration.ts';

/** `send` in text mode: the counts on one line, then a few sample replies. */
export function formatSendReport(r: SendReport, paint: Paint = plain): string {
  const counts = [
    paint('green', `${r.accepted} accepted`),
    r.rejected ? paint(['red', 'bold'], `${r.rejected} rejected`) : '0 rejected',
    r.deferred ? paint(['yellow', 'bold'], `${r.deferred} deferred`) : '0 deferred',
    ...(r.failed ? [paint(['red', 'bold'], `${r.failed} failed`)] : []),
  ].join(', ');
  const lines = [
    `Sent ${r.messages} message(s) in ${formatDuration(r.elapsedMs)} (${r.ratePerSecond} msg/s), run ${r.run}: ${counts}${r.interrupted ? ' (interrupted)' : ''}`,
  ];
  for (const s of r.samples) {
    lines.push(
      `  ${s.kind.padEnd(8)} x${s.count}  ${clean(s.reply, 160)}${s.recipient ? `  (${clean(s.recipient, 80)})` : ''}`,
    );
  }
  return lines.join('\n');
}
