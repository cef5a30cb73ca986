// Validates Kubernetes objects offline against the API's schemas, rejecting
// unknown fields as the API server does in strict mode.
//
//   node validate.mjs FILE...                    every object must be valid
//   node validate.mjs --expect-invalid FILE...   every object must be refused,
//       with an error containing its annotation spindle.test/expect
//
// Schemas: the models of `kubernetes-models` (core and apps APIs) and
// `@kubernetes-models/prometheus-operator` (ServiceMonitor, PrometheusRule),
// generated from the APIs' OpenAPI documents. Their validators check types,
// enums and required fields but let unknown keys pass, and the packages ship
// them compiled, without the JSON schemas. So each object is validated
// through a proxy that records which keys the validator looks up: a compiled
// validator reads every property its schema declares, and enumerates the keys
// of a map (labels, data) instead. A key of a declared-properties object that
// the validator never read is not in the schema. An object whose validator
// neither read nor enumerated anything is free-form in the schema.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function modulePath(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function modelFor(apiVersion, kind) {
  const path = modulePath(apiVersion, kind);
  if (path === null) return null;
  try {
    const mod = await import(path);
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

// Wraps value (recursively) in proxies that log reads and enumerations into
// `seen`, one record per object or array.
function watch(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const record = { path, value, read: new Set(), listed: false };
  seen.push(record);
  const inner = Array.isArray(value)
    ? value.map((v, i) => watch(v, `${path}[${i}]`, seen))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, watch(v, `${path}.${k}`, seen)]));
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === "string") record.read.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      record.listed = true;
      return Reflect.ownKeys(target);
    },
  });
}

function errorsOf(Model, obj) {
  const seen = [];
  const errors = [];
  try {
    Model.prototype.validate.call(watch(obj, "", seen));
  } catch (e) {
    errors.push(e.message);
  }
  for (const r of seen) {
    if (Array.isArray(r.value) || r.listed || r.read.size === 0) continue;
    for (const key of Object.keys(r.value)) {
      if (!r.read.has(key)) errors.push(`${r.path || "."}: unknown field "${key}"`);
    }
  }
  return errors;
}

function describe(obj) {
  const kind = obj?.kind ?? "?";
  const name = obj?.metadata?.name ?? "?";
  return `${obj?.apiVersion ?? "?"} ${kind}/${name}`;
}

async function main() {
  const args = process.argv.slice(2);
  const expectInvalid = args[0] === "--expect-invalid";
  const files = expectInvalid ? args.slice(1) : args;
  let failures = 0;
  let checked = 0;
  for (const file of files) {
    // YAML 1.1, as the API server's parser reads manifests.
    const docs = parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" });
    for (const doc of docs) {
      if (doc.errors.length > 0) {
        console.error(`${file}: YAML: ${doc.errors[0].message}`);
        failures++;
        continue;
      }
      const obj = doc.toJS();
      if (obj === null || obj === undefined) continue;
      checked++;
      const where = `${file}: ${describe(obj)}`;
      const Model = await modelFor(obj.apiVersion, obj.kind);
      const errors = Model ? errorsOf(Model, obj) : [`no schema for apiVersion ${obj.apiVersion}, kind ${obj.kind}`];
      if (!expectInvalid) {
        for (const e of errors) console.error(`${where}: ${e}`);
        if (errors.length > 0) failures++;
        continue;
      }
      const expect = obj?.metadata?.annotations?.["spindle.test/expect"];
      if (!expect) {
        console.error(`${where}: a broken fixture needs the annotation spindle.test/expect`);
        failures++;
      } else if (!errors.some((e) => e.includes(expect))) {
        console.error(`${where}: should be refused with "${expect}", got: ${errors.join("; ") || "valid"}`);
        failures++;
      } else {
        console.log(`refused as expected: ${describe(obj)}: ${errors.find((e) => e.includes(expect))}`);
      }
    }
  }
  if (checked === 0) {
    console.error(`no objects in ${files.join(" ")}`);
    process.exit(1);
  }
  const verdict = expectInvalid ? "broken objects refused" : "objects valid";
  console.log(`${checked - failures} of ${checked} ${verdict}`);
  process.exit(failures > 0 ? 1 : 0);
}

await main();
