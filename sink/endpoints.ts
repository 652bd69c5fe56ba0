/** The human-readable start banner (stderr): endpoints and a generated token. */
import type { SinkConfig } from './config.ts';

export function describeEndpoints(
  config: SinkConfig,
  ports: { smtpPort: number; httpPort: number },
): string {
  const host =
    config.host === '0.0.0.0' || config.host === '::'
      ? config.host
      : config.host.includes(':')
        ? `[${config.host}]`
        : config.host;
  const lines = [
    `SMTP  smtp://${host}:${ports.smtpPort}${config.tls ? ` (STARTTLS${config.tls.selfSigned ? ', self-signed certificate' : ''})` : ''}${config.authRequired ? ' (AUTH required)' : ''}`,
    `API   http://${host}:${ports.httpPort}`,
  ];
  if (config.token === null)
    lines.push('auth  none (--no-auth): anyone who can reach the API can read the mail');
  else if (config.tokenGenerated) lines.push(`token ${config.token}`);
  // The web inbox; a browser cannot open 0.0.0.0 or ::, so those print as loopback. The token (when
  // generated, hence printed anyway) rides in the fragment, which never reaches a server.
  const browsable = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '[::1]' : host;
  lines.push(
    `inbox http://${browsable}:${ports.httpPort}/${config.token !== null && config.tokenGenerated ? `#token=${encodeURIComponent(config.token)}` : ''}`,
  );
  return lines.join('\n') + '\n';
}
