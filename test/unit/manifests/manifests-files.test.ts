import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SinkMetrics } from '../../../sink/metrics.ts';
import { sinkStats } from '../../support/sink-stats.ts';

const read = (rel: string) => readFileSync(new URL(`../../../${rel}`, import.meta.url), 'utf8');

describe('manifests/: krew plugin manifest and Grafana dashboard', () => {
  it('the krew manifest is well formed, names the plugin after its file and matches package.json', () => {
    const krew = parse(read('manifests/krew/email-validate.yaml'));
    const pkg = JSON.parse(read('package.json')) as {
      version: string;
      bin: Record<string, string>;
    };
    assert.equal(krew.apiVersion, 'krew.googlecontainertools.github.com/v1alpha2');
    assert.equal(krew.kind, 'Plugin');
    assert.equal(krew.metadata.name, 'email-validate');
    assert.ok(pkg.bin['kubectl-email_validate'], 'the executable kubectl discovers');
    assert.equal(krew.spec.version, `v${pkg.version}`);
    assert.ok(
      krew.spec.shortDescription.length <= 60 && !krew.spec.shortDescription.includes('\n'),
    );
    assert.match(krew.spec.caveats, /Node\.js/);
    const seen = new Set<string>();
    for (const p of krew.spec.platforms) {
      seen.add(`${p.selector.matchLabels.os}/${p.selector.matchLabels.arch}`);
      assert.match(p.sha256, /^[0-9a-f]{64}$/);
      assert.match(p.uri, new RegExp(`^https://.*/v${pkg.version.replace(/\./g, '\\.')}/`));
      assert.ok(existsSync(new URL(`../../../${p.bin}`, import.meta.url)), p.bin);
    }
    assert.deepEqual([...seen].sort(), [
      'darwin/amd64',
      'darwin/arm64',
      'linux/amd64',
      'linux/arm64',
    ]);
  });

  it('the Grafana dashboard only queries metrics the sink exports', async () => {
    const dash = JSON.parse(read('manifests/grafana/email-sink-dashboard.json')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    // Ask the sink's own registry (with the process metrics it exports by default)
    // rather than scraping source text, which a formatter may re-wrap.
    const metrics = new SinkMetrics(() => sinkStats(), {});
    const names = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    assert.ok(names.size > 5, 'found the metric names in sink/metrics.ts');
    for (const panel of dash.panels) {
      for (const t of panel.targets) {
        for (const [metric] of t.expr.matchAll(/email_sink_[a-z_]+/g)) {
          const base = metric.replace(/_(bucket|sum|count)$/, '');
          assert.ok(names.has(base), `${metric} is exported by the sink`);
        }
      }
    }
  });
});
