// checkFields(obj): the field paths of a Kubernetes object that its schema
// does not define (a typo such as "topologySpreadConstraint" or a field at
// the wrong level), which the API server would reject or drop and which
// kubernetes-models' validate() lets through (it checks types, not unknown
// properties). The schema is read from the property lists in
// kubernetes-models' type declarations (.d.ts), following the imports.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const MODELS = path.dirname(require.resolve('kubernetes-models/package.json'));
const SCOPE = path.resolve(MODELS, '..', '@kubernetes-models');
const cache = new Map(); // file -> {props: Map(name -> type text), imports: Map(ident -> file)} | null

function resolveImport(fromFile, spec) {
  const base = spec.startsWith('.') ? path.resolve(path.dirname(fromFile), spec)
    : spec.startsWith('@kubernetes-models/') ? path.join(SCOPE, spec.slice('@kubernetes-models/'.length))
      : null;
  if (!base) return null;
  const f = base.replace(/\.js$/, '') + '.d.ts';
  return fs.existsSync(f) ? f : null;
}

// Split "a; b; {c; d;}; e" at top-level semicolons.
function topLevel(body) {
  const out = [];
  let depth = 0, cur = '';
  for (const ch of body) {
    if (ch === '{' || ch === '<' || ch === '(') depth++;
    if (ch === '}' || ch === '>' || ch === ')') depth--;
    if (ch === ';' && depth === 0) { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function load(file) {
  if (cache.has(file)) return cache.get(file);
  const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const imports = new Map();
  for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    const target = resolveImport(file, m[2]);
    for (const id of m[1].split(',').map((s) => s.trim()).filter(Boolean)) imports.set(id, target);
  }
  const head = /export interface \w+(?:\s+extends\s+[\w, ]+)?\s*\{/.exec(src);
  let entry = null;
  if (head) {
    let i = head.index + head[0].length, depth = 1;
    const start = i;
    for (; i < src.length && depth > 0; i++) {
      if (src[i] === '{') depth++;
      else if (src[i] === '}') depth--;
    }
    const props = new Map();
    for (const p of topLevel(src.slice(start, i - 1))) {
      const m = /^"([^"]+)"\??\s*:\s*([\s\S]+)$/.exec(p);
      if (m) props.set(m[1], m[2].trim());
    }
    if (/extends\s+TypeMeta/.test(head[0])) { props.set('apiVersion', 'string'); props.set('kind', 'string'); }
    entry = { props, imports };
  }
  cache.set(file, entry);
  return entry;
}

function walk(value, type, ctxFile, at, errors) {
  type = type.trim();
  let m;
  if ((m = /^Array<([\s\S]+)>$/.exec(type))) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, m[1], ctxFile, `${at}[${i}]`, errors));
    return;
  }
  if ((m = /^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/.exec(type))) {
    if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, m[1], ctxFile, `${at}.${k}`, errors);
    }
    return;
  }
  if (!/^\w+$/.test(type)) return; // literals, unions, primitives
  const target = load(ctxFile)?.imports.get(type);
  if (!target) return;
  const schema = load(target);
  if (!schema || !value || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (!schema.props.has(k)) errors.push(`${at}.${k}`);
    else walk(v, schema.props.get(k), target, `${at}.${k}`, errors);
  }
}

export function checkFields(obj) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const file = path.join(MODELS, group, version, `${obj.kind}.d.ts`);
  const schema = load(file);
  if (!schema) return [`(no schema for ${obj.apiVersion} ${obj.kind})`];
  const errors = [];
  for (const [k, v] of Object.entries(obj)) {
    if (!schema.props.has(k)) errors.push(k);
    else walk(v, schema.props.get(k), file, k, errors);
  }
  return errors;
}
