// Validates Kubernetes objects against the official OpenAPI schemas, as compiled by kubernetes-models.
//
//   node tests/node/validate.mjs < objects.json
//
// Reads a JSON array of objects on stdin and writes one JSON line per object:
//   {"index":0,"kind":"Job","name":"train-x","ok":true,"error":null}
// Exit code 0 when every object is valid, 1 when one is not, 2 when the input or the installation is unusable.
//
// What the schemas check: types, formats (int32, int-or-string, quantity), enums where the API declares them, and
// required fields. What they do not: unknown fields (the Kubernetes schemas declare no additionalProperties, so a
// misspelled field passes here; the C# harness checks field names against KubernetesClient's models) and the API
// server's own validation (name syntax, label values, cross-field rules).
import { existsSync, readFileSync } from 'node:fs';

if (!existsSync(new URL('./node_modules/kubernetes-models/package.json', import.meta.url))) {
  console.error('kubernetes-models is not installed in tests/node: run ./emo test, or npm ci --prefix tests/node');
  process.exit(2);
}

let objects;
try {
  objects = JSON.parse(readFileSync(0, 'utf8'));
} catch (e) {
  console.error(`stdin is not JSON: ${e.message}`);
  process.exit(2);
}
if (!Array.isArray(objects)) {
  console.error('stdin must be a JSON array of Kubernetes objects');
  process.exit(2);
}

// "v1" (core) and "group/version" are exactly the module paths kubernetes-models exports; anything else is refused
// before it reaches import().
const apiVersionPattern = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const kindPattern = /^[A-Z][A-Za-z0-9]*$/;
const models = new Map();

async function modelFor(apiVersion, kind) {
  if (apiVersion === undefined || apiVersion === null) throw new Error('apiVersion is missing');
  if (kind === undefined || kind === null) throw new Error('kind is missing');
  if (typeof apiVersion !== 'string' || !apiVersionPattern.test(apiVersion))
    throw new Error(`unknown apiVersion ${JSON.stringify(apiVersion)}`);
  if (typeof kind !== 'string' || !kindPattern.test(kind))
    throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    // One kind's module (and the schemas it refers to), not the whole group's index: a third of the start-up time.
    const module = await import(`kubernetes-models/${key}`).catch(() => null);
    if (module === null && await import(`kubernetes-models/${apiVersion}`).catch(() => null) === null)
      throw new Error(`unknown apiVersion ${apiVersion}`);
    models.set(key, module?.[kind] ?? null);
  }
  const model = models.get(key);
  // Nested types (JobSpec, Container) are exported too, but only top-level kinds carry apiVersion and kind.
  if (typeof model !== 'function' || model.kind !== kind || model.apiVersion !== apiVersion)
    throw new Error(`unknown kind ${kind} in ${apiVersion}`);
  return model;
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let failed = 0;
for (const [index, object] of objects.entries()) {
  const kind = isObject(object) && typeof object.kind === 'string' ? object.kind : null;
  const name = isObject(object) && isObject(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : null;
  let error = null;
  try {
    if (!isObject(object)) throw new Error('not a JSON object');
    const Model = await modelFor(object.apiVersion, object.kind);
    new Model(object).validate();
  } catch (e) {
    error = e.message;
    failed++;
  }
  process.stdout.write(JSON.stringify({ index, kind, name, ok: error === null, error }) + '\n');
}
process.exitCode = failed === 0 ? 0 : 1;
