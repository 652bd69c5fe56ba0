/**
 * Shipping an esbuild bundle into pods without building an image: the
 * official Node.js image runs a `node -e` bootstrap that joins the bundle's
 * gzip-compressed parts (one ConfigMap each, merged into one directory by a
 * `projected` volume), gunzips it into the pod's writable work directory (the
 * root filesystem is read-only) and imports it. The sink (manifests.ts) and
 * the in-cluster checker ship their bundles this way. Pure.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { KubeObject } from './kube-object.ts';

/** The API server rejects a ConfigMap whose whole object exceeds 1 MiB (etcd's request limit). */
export const MAX_CONFIGMAP_BYTES = 1024 * 1024;
/** Compressed bundle bytes per ConfigMap: base64 makes 683 KiB, leaving a third of the 1 MiB for headroom. */
export const BUNDLE_PART_BYTES = 512 * 1024;
/** The runtime image when no image of our own is given. */
export const DEFAULT_NODE_IMAGE = 'node:24-alpine';
/** Non-root uid/gid of the `node` user in the official image. */
export const NODE_USER_UID = 1000;

/** Splits `data` into parts of at most `size` bytes (at least one part). */
export function splitBytes(data: Uint8Array, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return parts.length ? parts : [new Uint8Array(0)];
}

/** Name of the i-th bundle part file (sorted order = join order). */
export function bundlePartName(i: number): string {
  return `part-${String(i).padStart(3, '0')}`;
}

/**
 * The container's program: join the parts found in `$EV_BUNDLE_DIR`, gunzip
 * them into `$EV_WORK_DIR/<file>`, run that as the main module. Plain CommonJS
 * for `node -e`, no shell needed; paths come from the environment so the same
 * script runs wherever the volumes are mounted.
 */
export function bootstrapProgram(file: string): string {
  if (!/^[a-z0-9.-]+\.mjs$/.test(file))
    throw new RangeError(`bundle file name ${JSON.stringify(file)} must be a plain .mjs name`);
  return [
    "const fs=require('node:fs'),path=require('node:path'),zlib=require('node:zlib'),url=require('node:url');",
    `const dir=process.env.EV_BUNDLE_DIR,out=path.join(process.env.EV_WORK_DIR||'/tmp','${file}');`,
    'const parts=fs.readdirSync(dir).filter((f)=>/^part-\\d{3}$/.test(f)).sort();',
    'fs.writeFileSync(out,zlib.gunzipSync(Buffer.concat(parts.map((f)=>fs.readFileSync(path.join(dir,f))))));',
    'process.argv[1]=out;',
    'import(url.pathToFileURL(out).href).catch((e)=>{console.error(e);process.exit(1);});',
  ].join('');
}

/** A bundle cut into ConfigMaps, and the volume that puts their parts back into one directory. */
export interface ShippedBundle {
  configMaps: KubeObject[];
  /** A pod volume named `volumeName`: every part in one directory. */
  volume: Record<string, unknown>;
  /** sha256 of the uncompressed bundle, for a pod-template annotation (a new bundle rolls the pods). */
  sha256: string;
}

/**
 * Gzips `bundle`, cuts it into {@link BUNDLE_PART_BYTES} parts and wraps each
 * in a ConfigMap named `configMapName(i)` with the metadata `metadataOf(name)`.
 */
export function shipBundle(
  bundle: Uint8Array,
  options: {
    configMapName(i: number): string;
    metadataOf(name: string): KubeObject['metadata'];
    volumeName: string;
  },
): ShippedBundle {
  const parts = splitBytes(gzipSync(bundle, { level: 9 }), BUNDLE_PART_BYTES);
  const names = parts.map((_, i) => options.configMapName(i));
  return {
    configMaps: parts.map((part, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: options.metadataOf(names[i]),
      binaryData: { [bundlePartName(i)]: Buffer.from(part).toString('base64') },
    })),
    volume: {
      name: options.volumeName,
      projected: { sources: names.map((name) => ({ configMap: { name } })) },
    },
    sha256: createHash('sha256').update(bundle).digest('hex'),
  };
}
