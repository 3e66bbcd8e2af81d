// Validates Kubernetes objects against the official OpenAPI schemas, as compiled by kubernetes-models, and the custom
// resources the deployment uses against their operators' schemas:
//   monitoring.coreos.com   @kubernetes-models/prometheus-operator (ServiceMonitor, PodMonitor, PrometheusRule…)
//   keda.sh, eventing.keda.sh  @kubernetes-models/keda
//   postgresql.cnpg.io      @kubernetes-models/cloudnative-pg (Cluster…)
//   kafka.strimzi.io, rabbitmq.com  no npm package exists: the operators' own CustomResourceDefinitions, stored in
//                           crds/ (see crds/PROVENANCE.md), checked with ajv against the openAPIV3Schema of the served
//                           version. Unknown fields are refused there (as kubectl's strict field validation does),
//                           except under x-kubernetes-preserve-unknown-fields.
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
import { existsSync, readFileSync, readdirSync } from 'node:fs';

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

// API groups whose kinds come from a kubernetes-models third-party package instead of kubernetes-models itself.
const packages = new Map([
  ['monitoring.coreos.com', '@kubernetes-models/prometheus-operator'],
  ['keda.sh', '@kubernetes-models/keda'],
  ['eventing.keda.sh', '@kubernetes-models/keda'],
  ['postgresql.cnpg.io', '@kubernetes-models/cloudnative-pg'],
]);

// API groups checked against a stored CRD (crds/*.yaml): "group/version/Kind" → the served version's openAPIV3Schema.
const crdGroups = new Set(['kafka.strimzi.io', 'rabbitmq.com']);
let crdSchemas = null;

async function crdSchemaFor(apiVersion, kind) {
  if (crdSchemas === null) {
    const { parseAllDocuments } = await import('yaml');
    crdSchemas = new Map();
    const folder = new URL('./crds/', import.meta.url);
    for (const file of readdirSync(folder).filter(f => f.endsWith('.yaml')).sort()) {
      for (const document of parseAllDocuments(readFileSync(new URL(file, folder), 'utf8'))) {
        const crd = document.toJS();
        if (crd?.kind !== 'CustomResourceDefinition') continue;
        for (const version of crd.spec.versions ?? [])
          if (version.served && version.schema?.openAPIV3Schema)
            crdSchemas.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, { file, schema: version.schema.openAPIV3Schema });
      }
    }
  }
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    const found = crdSchemas.get(key);
    if (found === undefined) {
      const group = apiVersion.split('/')[0];
      if (![...crdSchemas.keys()].some(k => k.startsWith(`${apiVersion}/`)))
        throw new Error(`unknown apiVersion ${apiVersion} (the stored ${group} CRDs serve ${[...crdSchemas.keys()].filter(k => k.startsWith(`${group}/`)).map(k => k.split('/')[1]).filter((v, i, a) => a.indexOf(v) === i).join(', ') || 'no version'})`);
      throw new Error(`unknown kind ${kind} in ${apiVersion}`);
    }
    const { default: Ajv } = await import('ajv');
    // strict: false lets the x-kubernetes-* keywords through; formats are the API server's (int32, int-or-string…),
    // which ajv does not know: not checked.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    models.set(key, ajv.compile(closed(structuredClone(found.schema), true)));
  }
  return models.get(key);
}

// Unknown fields fail, as kubectl's strict field validation makes them fail: every object schema that lists its
// properties gets additionalProperties false, unless it preserves unknown fields (or already says what it allows).
// Embedded resources and the root keep apiVersion, kind and metadata, which the API server adds to their schema.
function closed(schema, root = false) {
  if (typeof schema !== 'object' || schema === null) return schema;
  for (const [keyword, value] of Object.entries(schema)) {
    if (['properties', 'patternProperties', 'definitions'].includes(keyword))
      for (const name of Object.keys(value)) value[name] = closed(value[name]);
    else if (['items', 'additionalProperties', 'not'].includes(keyword) && typeof value === 'object')
      schema[keyword] = closed(value);
    else if (['allOf', 'anyOf', 'oneOf'].includes(keyword) && Array.isArray(value))
      schema[keyword] = value.map(s => closed(s));
  }
  if ((root || schema['x-kubernetes-embedded-resource']) && schema.properties !== undefined)
    for (const name of ['apiVersion', 'kind', 'metadata']) schema.properties[name] ??= { type: name === 'metadata' ? 'object' : 'string' };
  if (schema.properties !== undefined && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields'])
    schema.additionalProperties = false;
  return schema;
}

async function validatorFor(apiVersion, kind) {
  if (apiVersion === undefined || apiVersion === null) throw new Error('apiVersion is missing');
  if (kind === undefined || kind === null) throw new Error('kind is missing');
  if (typeof apiVersion !== 'string' || !apiVersionPattern.test(apiVersion))
    throw new Error(`unknown apiVersion ${JSON.stringify(apiVersion)}`);
  if (typeof kind !== 'string' || !kindPattern.test(kind))
    throw new Error(`unknown kind ${JSON.stringify(kind)}`);
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  if (crdGroups.has(group)) {
    const validate = await crdSchemaFor(apiVersion, kind);
    return object => {
      if (!validate(object))
        throw new Error(validate.errors.map(e => `data${e.instancePath} ${e.message}` +
          (e.keyword === 'additionalProperties' ? ` (${e.params.additionalProperty})` : '')).join(', '));
    };
  }
  const Model = await modelFor(packages.get(group) ?? 'kubernetes-models', apiVersion, kind);
  return object => new Model(object).validate();
}

async function modelFor(pkg, apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    // One kind's module (and the schemas it refers to), not the whole group's index: a third of the start-up time.
    const module = await import(`${pkg}/${key}`).catch(() => null);
    if (module === null && await import(`${pkg}/${apiVersion}`).catch(() => null) === null)
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
    const validate = await validatorFor(object.apiVersion, object.kind);
    validate(object);
  } catch (e) {
    error = e.message;
    failed++;
  }
  process.stdout.write(JSON.stringify({ index, kind, name, ok: error === null, error }) + '\n');
}
process.exitCode = failed === 0 ? 0 : 1;
