/**
 * Public entry of checker/ for the CLI: what a local `check` shares with the
 * shards, so both check addresses the same way (the stage builder and the
 * I/O it uses: DNS resolver, SMTP transport, the provider's HTTP client).
 * The CLI reaches checker/ only through this file, and checker/ never imports
 * the plugin (test/unit/layout.test.ts), as for sink/.
 */
export {
  buildNetworkStages,
  stageOptionsOf,
  validateProbeIdentity,
  type BuiltStages,
  type StageDeps,
  type StageOptions,
} from './stages.ts';
export { createDnsResolver, normaliseServer } from './dns-resolver.ts';
export { netSmtpTransport } from './smtp-transport.ts';

/** The provider's HTTP client (undici), loaded only when a provider is used (~0.1 s of start-up otherwise). */
export function loadHttpClient(): Promise<typeof import('./http-client.ts')> {
  return import('./http-client.ts');
}
