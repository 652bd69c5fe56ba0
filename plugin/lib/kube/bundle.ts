/** The sink bundle that `up` ships in ConfigMaps (no client-node import here: `manifests` stays light). */
import { SINK_BUNDLE_PATH, readBuiltBundle } from '../built-bundle.ts';

/** The sink bundle built by `npm run build`. */
export function readSinkBundle(): Uint8Array {
  return readBuiltBundle(
    SINK_BUNDLE_PATH,
    'the sink bundle',
    'pass --image with a sink image built from sink/Dockerfile',
  );
}
