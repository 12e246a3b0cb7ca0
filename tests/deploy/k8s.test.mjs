// The Kubernetes manifests (deploy/k8s): every overlay renders with
// `kubectl kustomize`, every object validates offline against the
// Kubernetes schemas (kubernetes-models), and the policy the deployment
// promises holds on what is rendered - not on the source files, so a patch
// in an overlay cannot silently undo it: limits everywhere, non-root,
// read-only root filesystems, probes, a PDB for every replicated workload,
// references that resolve, the HAProxy config identical to the local one,
// and the edge-pi overlay fitting two 8 GB Raspberry Pi 5 with room to spare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ROOT, run } from './lib/util.mjs';
import { checkFields } from './lib/k8s-fields.mjs';

const OVERLAYS = ['edge-pi', 'cloud'];
const rendered = {};

function render(dir) {
  const r = run('kubectl', ['kustomize', dir]);
  assert.equal(r.stderr.trim(), '', `kubectl kustomize ${dir} warned:\n${r.stderr}`);
  return YAML.parseAllDocuments(r.stdout).map((d) => d.toJS());
}

function objects(overlay) {
  rendered[overlay] ??= render(path.join(ROOT, 'deploy/k8s/overlays', overlay));
  return rendered[overlay];
}

const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const workloads = (objs) => objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
const matches = (selector, labels) =>
  Object.entries(selector.matchLabels || {}).every(([k, v]) => labels?.[k] === v);

// Quantities: CPU in cores, memory in bytes.
function cpu(q) {
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}
function mem(q) {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G)?$/.exec(String(q));
  assert.ok(m, `memory quantity ${q}`);
  const mult = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}

// The resources one pod reserves: its containers, or its largest init
// container if that is more (they run before, one at a time).
function podResources(spec, which) {
  const sum = (cs, f, unit) => cs.reduce((a, c) => a + unit(c.resources[which][f]), 0);
  const max = (cs, f, unit) => Math.max(0, ...cs.map((c) => unit(c.resources[which][f])));
  const init = spec.initContainers || [];
  return {
    cpu: Math.max(sum(spec.containers, 'cpu', cpu), max(init, 'cpu', cpu)),
    mem: Math.max(sum(spec.containers, 'memory', mem), max(init, 'memory', mem)),
  };
}

// The most replicas a workload can have: its HPA's maxReplicas if it has one.
function maxReplicas(objs, w) {
  const hpa = byKind(objs, 'HorizontalPodAutoscaler')
    .find((h) => h.spec.scaleTargetRef.kind === w.kind && h.spec.scaleTargetRef.name === w.metadata.name);
  return hpa ? hpa.spec.maxReplicas : (w.spec.replicas ?? 1);
}

async function modelFor(o) {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const mod = await import(`kubernetes-models/${group ? group + '/' : ''}${version}/${o.kind}`);
  return mod[o.kind];
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: renders every part of the topology`, () => {
    const objs = objects(overlay);
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const want of ['Namespace/tixin', 'Deployment/tixin', 'Service/tixin', 'HorizontalPodAutoscaler/tixin',
      'PodDisruptionBudget/tixin', 'StatefulSet/postgres', 'Service/postgres-primary', 'Service/postgres-replica',
      'Deployment/redis', 'Service/redis', 'Deployment/haproxy', 'Service/haproxy',
      'NetworkPolicy/default-deny-ingress']) {
      assert.ok(names.includes(want), `${want} missing from ${overlay}: ${names.join(', ')}`);
    }
    assert.ok(byKind(objs, 'ConfigMap').some((c) => c.metadata.name.startsWith('tixin-config-')));
    assert.ok(byKind(objs, 'Secret').some((c) => c.metadata.name.startsWith('tixin-secrets-')));
    for (const o of objs) {
      if (o.kind === 'Namespace' || o.metadata.name === 'prometheus-adapter-tixin') continue;
      assert.equal(o.metadata.namespace, 'tixin', `${o.kind}/${o.metadata.name} namespace`);
    }
  });

  test(`${overlay}: every object validates against the Kubernetes schema, with no unknown field`, async () => {
    for (const o of objects(overlay)) {
      const Model = await modelFor(o);
      // kustomize wraps long base64 Secret values over lines; the API
      // server's decoder (Go's base64) ignores the newlines, the schema's
      // "byte" format does not.
      const obj = o.kind === 'Secret' ? { ...o, data: Object.fromEntries(
        Object.entries(o.data).map(([k, v]) => [k, v.replace(/\n/g, '')])) } : o;
      assert.doesNotThrow(() => new Model(obj).validate(), `${o.kind}/${o.metadata.name}`);
      assert.deepEqual(checkFields(o), [], `${o.kind}/${o.metadata.name} has fields the schema does not know`);
    }
  });

  test(`${overlay}: every container has requests and limits, runs non-root on a read-only root fs, with probes`, () => {
    for (const w of workloads(objects(overlay))) {
      const spec = w.spec.template.spec;
      const id = `${w.kind}/${w.metadata.name}`;
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${id}: runAsNonRoot`);
      assert.ok(spec.securityContext?.runAsUser > 0, `${id}: runAsUser is not root`);
      assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${id}: seccomp`);
      assert.equal(spec.automountServiceAccountToken, false, `${id}: no API token mounted`);
      for (const c of [...(spec.initContainers || []), ...spec.containers]) {
        const cid = `${id} container ${c.name}`;
        for (const f of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[f], `${cid}: requests.${f}`);
          assert.ok(c.resources?.limits?.[f], `${cid}: limits.${f}`);
        }
        assert.ok(cpu(c.resources.requests.cpu) <= cpu(c.resources.limits.cpu), `${cid}: cpu request <= limit`);
        assert.ok(mem(c.resources.requests.memory) <= mem(c.resources.limits.memory), `${cid}: memory request <= limit`);
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${cid}: readOnlyRootFilesystem`);
        assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${cid}: allowPrivilegeEscalation`);
        assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${cid}: drops every capability`);
        assert.ok(!c.image.endsWith(':latest') || c.name === 'tixin', `${cid}: pinned image tag (${c.image})`);
      }
      for (const c of spec.containers) {
        assert.ok(c.readinessProbe, `${id} container ${c.name}: readinessProbe`);
        assert.ok(c.livenessProbe, `${id} container ${c.name}: livenessProbe`);
      }
    }
  });

  test(`${overlay}: tixin probes /healthz and /readyz, drains before SIGTERM, spreads, is scraped and meshed`, () => {
    const objs = objects(overlay);
    const d = find(objs, 'Deployment', 'tixin');
    const pod = d.spec.template;
    const c = pod.spec.containers.find((x) => x.name === 'tixin');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    // preStop keeps the pod serving while HAProxy and the endpoints stop
    // sending to it; the grace period covers the drain after SIGTERM too.
    const pre = c.lifecycle.preStop.exec.command;
    assert.equal(pre[0], '/bin/sleep');
    const preStop = Number(pre[1]);
    const readiness = c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold;
    assert.ok(preStop >= readiness + 2, `preStop ${preStop}s covers readiness removal (${readiness}s) and HAProxy's checks`);
    assert.ok(pod.spec.terminationGracePeriodSeconds >= preStop + 20, 'grace period leaves 20 s to drain after SIGTERM');
    assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.ok(pod.spec.topologySpreadConstraints.some((t) => t.topologyKey === 'kubernetes.io/hostname'
      && matches(t.labelSelector, pod.metadata.labels)));
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(pod.metadata.annotations['prometheus.io/port'], String(c.ports.find((p) => p.name === 'http').containerPort));
    assert.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics');
    // Linkerd on the critical path only: tixin's pods, nothing else.
    for (const w of workloads(objs)) {
      const inject = w.spec.template.metadata.annotations?.['linkerd.io/inject'];
      assert.equal(inject, w.metadata.name === 'tixin' ? 'enabled' : undefined, `${w.metadata.name} linkerd.io/inject`);
    }
    assert.equal(find(objs, 'Namespace', 'tixin').metadata.annotations?.['linkerd.io/inject'], undefined);
    const secretEnv = Object.fromEntries(c.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e]));
    assert.ok(secretEnv.TIXIN_DATABASE_URL && secretEnv.TIXIN_DATABASE_REPLICA_URL, 'database URLs from the Secret');
  });

  test(`${overlay}: HPA scales tixin on CPU and on p95 latency served by prometheus-adapter`, () => {
    const objs = objects(overlay);
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'tixin');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'tixin' });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const cpuM = hpa.spec.metrics.find((m) => m.type === 'Resource' && m.resource.name === 'cpu');
    assert.ok(cpuM.resource.target.averageUtilization > 0);
    const lat = hpa.spec.metrics.find((m) => m.type === 'Pods');
    assert.ok(cpu(lat.pods.target.averageValue) <= 0.1, 'p95 target at most 100 ms (the alert threshold)');
    const adapter = find(objs, 'ConfigMap', 'prometheus-adapter-tixin');
    const rules = YAML.parse(adapter.data['config.yaml']).rules;
    const rule = rules.find((r) => r.name.as === lat.pods.metric.name);
    assert.ok(rule, `an adapter rule serves ${lat.pods.metric.name}`);
    assert.match(rule.seriesQuery, /^http_request_duration_seconds_bucket\{/);
    assert.match(rule.metricsQuery, /histogram_quantile\(0\.95,/);
    assert.match(rule.metricsQuery, /by \(le, <<\.GroupBy>>\)/);
  });

  test(`${overlay}: every replicated workload has a PDB that still lets a node drain`, () => {
    const objs = objects(overlay);
    const pdbs = byKind(objs, 'PodDisruptionBudget');
    for (const w of workloads(objs)) {
      const n = w.spec.replicas ?? 1;
      const covering = pdbs.filter((p) => matches(p.spec.selector, w.spec.template.metadata.labels));
      if (n < 2) {
        assert.equal(covering.length, 0, `${w.metadata.name}: a PDB on a single replica would block drains`);
        continue;
      }
      assert.equal(covering.length, 1, `${w.kind}/${w.metadata.name}: exactly one PDB`);
      const p = covering[0].spec;
      const allowed = p.maxUnavailable ?? (n - p.minAvailable);
      assert.ok(allowed >= 1, `${w.metadata.name}: PDB allows a disruption at ${n} replicas`);
      assert.ok(n - allowed >= 1, `${w.metadata.name}: PDB keeps one pod up`);
    }
  });

  test(`${overlay}: every reference resolves (Services, ConfigMaps, Secrets and their keys)`, () => {
    const objs = objects(overlay);
    const pods = workloads(objs).map((w) => w.spec.template);
    for (const s of byKind(objs, 'Service')) {
      const sel = s.spec.selector;
      const hit = pods.filter((t) => Object.entries(sel).every(([k, v]) => k === 'statefulset.kubernetes.io/pod-name' || t.metadata.labels[k] === v));
      assert.ok(hit.length > 0, `Service ${s.metadata.name} selects no pod`);
      for (const p of s.spec.ports) {
        if (typeof p.targetPort !== 'string') continue;
        assert.ok(hit.some((t) => t.spec.containers.some((c) => c.ports?.some((cp) => cp.name === p.targetPort))),
          `Service ${s.metadata.name}: no container port named ${p.targetPort}`);
      }
    }
    const data = (kind, name) => {
      const o = find(objs, kind, name);
      assert.ok(o, `${kind} ${name} is referenced but not rendered`);
      return { ...(o.data || {}), ...(o.stringData || {}) };
    };
    for (const w of workloads(objs)) {
      const spec = w.spec.template.spec;
      for (const c of [...(spec.initContainers || []), ...spec.containers]) {
        for (const e of c.envFrom || []) {
          if (e.configMapRef) data('ConfigMap', e.configMapRef.name);
          if (e.secretRef) data('Secret', e.secretRef.name);
        }
        for (const e of c.env || []) {
          const ref = e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef;
          if (!ref) continue;
          const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
          assert.ok(ref.key in data(kind, ref.name), `${w.metadata.name}: ${kind} ${ref.name} has no key ${ref.key}`);
        }
        for (const m of c.volumeMounts || []) {
          assert.ok((spec.volumes || []).some((v) => v.name === m.name)
            || (w.spec.volumeClaimTemplates || []).some((v) => v.metadata.name === m.name), `${w.metadata.name}: volume ${m.name}`);
        }
      }
      for (const v of spec.volumes || []) {
        if (!v.configMap) continue;
        if (v.configMap.items?.some((it) => it.path.endsWith('.sh'))) {
          assert.ok((v.configMap.defaultMode ?? 0o644) & 0o100, `${w.metadata.name}: volume ${v.name} mounts scripts executable`);
        }
        const d = data('ConfigMap', v.configMap.name);
        for (const it of v.configMap.items || []) assert.ok(it.key in d, `ConfigMap ${v.configMap.name} key ${it.key}`);
      }
    }
  });

  test(`${overlay}: HAProxy runs deploy/haproxy/haproxy.cfg unchanged, every variable it reads is set`, () => {
    const objs = objects(overlay);
    const cfg = fs.readFileSync(path.join(ROOT, 'deploy/haproxy/haproxy.cfg'), 'utf8');
    const h = find(objs, 'Deployment', 'haproxy');
    const vol = h.spec.template.spec.volumes.find((v) => v.name === 'config');
    const cm = find(objs, 'ConfigMap', vol.configMap.name);
    assert.equal(cm.data['haproxy.cfg'], cfg, 'the ConfigMap holds the file byte for byte');
    const c = h.spec.template.spec.containers[0];
    assert.ok(c.args.includes('/usr/local/etc/haproxy/haproxy.cfg'));
    const env = {};
    for (const e of c.envFrom) Object.assign(env, find(objs, 'ConfigMap', e.configMapRef.name).data);
    const used = new Set([...cfg.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    const preset = new Set([...cfg.matchAll(/^\s*presetenv\s+(\w+)/gm)].map((m) => m[1]));
    for (const v of used) assert.ok(v in env || preset.has(v), `${v} is neither set nor preset`);
    // In a pod HAProxy must listen beyond loopback, and reach tixin through
    // a name that survives pod restarts (the file resolves names at start).
    assert.match(env.TIXIN_HAPROXY_BIND, /^0\.0\.0\.0:(\d+)$/);
    const port = Number(env.TIXIN_HAPROXY_BIND.split(':')[1]);
    assert.ok(c.ports.some((p) => p.containerPort === port), 'the container exposes the bind port');
    const backends = Object.keys(env).filter((k) => /^TIXIN_BACKEND_\d+$/.test(k));
    assert.ok(backends.length >= 2);
    for (const b of backends) {
      const [host, p] = env[b].split(':');
      assert.ok(find(objs, 'Service', host), `${b}=${env[b]} names a Service`);
      assert.equal(Number(p), find(objs, 'Service', host).spec.ports[0].port);
    }
  });

  test(`${overlay}: NetworkPolicies deny by default and open exactly the topology's paths`, () => {
    const objs = objects(overlay);
    const nps = byKind(objs, 'NetworkPolicy');
    const deny = nps.find((n) => Object.keys(n.spec.podSelector).length === 0 && !n.spec.ingress);
    assert.ok(deny && deny.spec.policyTypes.includes('Ingress'), 'a default-deny ingress policy');
    const allows = (from, to, port) => nps.some((n) => matches(n.spec.podSelector, { 'app.kubernetes.io/name': to })
      && (n.spec.ingress || []).some((r) => (r.ports || []).some((p) => p.port === port)
        && (from === '*' ? !r.from : (r.from || []).some((f) => f.podSelector && matches(f.podSelector, { 'app.kubernetes.io/name': from })))));
    assert.ok(allows('*', 'haproxy', 8080));
    assert.ok(allows('haproxy', 'tixin', 8080));
    assert.ok(allows('tixin', 'postgres', 5432));
    assert.ok(allows('postgres', 'postgres', 5432), 'replication');
    assert.ok(allows('tixin', 'redis', 6379));
    assert.ok(!allows('haproxy', 'postgres', 5432) && !allows('*', 'tixin', 8080) && !allows('*', 'postgres', 5432));
  });
}

test('edge-pi: the whole topology at the HPA maximum fits two 8 GB Raspberry Pi 5 with room to spare', () => {
  const objs = objects('edge-pi');
  // Per Pi: 4 cores and 8 GiB; one core (reservedSystemCPUs) and 1 GiB
  // are kept for the OS, k3s and the kubelet (docs/DEPLOY.md).
  const node = { cpu: 3, mem: 7 * 2 ** 30 };
  const nodes = 2;
  let reqCpu = 0, reqMem = 0, limCpu = 0, limMem = 0;
  let worstCpu = 0, worstMem = 0; // the fullest node, worst placement
  const lines = [];
  for (const w of workloads(objs)) {
    const n = maxReplicas(objs, w);
    const spec = w.spec.template.spec;
    const req = podResources(spec, 'requests');
    const lim = podResources(spec, 'limits');
    // Spread (DoNotSchedule on hostname, or required anti-affinity) puts
    // at most ceil(n/2) on one node; anything else may all land on one.
    const spread = (spec.topologySpreadConstraints || []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && t.whenUnsatisfiable === 'DoNotSchedule')
      || spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.some((t) => t.topologyKey === 'kubernetes.io/hostname');
    const onOne = spread ? Math.ceil(n / nodes) : n;
    reqCpu += n * req.cpu; reqMem += n * req.mem; limCpu += n * lim.cpu; limMem += n * lim.mem;
    worstCpu += onOne * req.cpu; worstMem += onOne * req.mem;
    lines.push(`${w.metadata.name} x${n}: req ${req.cpu} CPU ${(req.mem / 2 ** 20).toFixed(0)} MiB, lim ${lim.cpu} CPU ${(lim.mem / 2 ** 20).toFixed(0)} MiB`);
  }
  const gib = (b) => (b / 2 ** 30).toFixed(2);
  console.log(`edge-pi at max: requests ${reqCpu.toFixed(2)} CPU / ${gib(reqMem)} GiB, limits ${limCpu.toFixed(2)} CPU / ${gib(limMem)} GiB; fullest node ${worstCpu.toFixed(2)} CPU / ${gib(worstMem)} GiB\n  ${lines.join('\n  ')}`);
  assert.ok(worstCpu <= node.cpu, `the fullest Pi needs ${worstCpu} CPU of ${node.cpu} allocatable`);
  assert.ok(worstMem <= node.mem / 2, `the fullest Pi needs ${gib(worstMem)} GiB (half of ${gib(node.mem)} must stay free)`);
  assert.ok(reqCpu <= 0.8 * nodes * node.cpu, `requests ${reqCpu} CPU leave 20% of ${nodes * node.cpu} free`);
  assert.ok(limMem <= 0.5 * nodes * 8 * 2 ** 30, `memory limits ${gib(limMem)} GiB stay under half of 16 GiB`);
  // CPU pinning: tixin is Guaranteed QoS with whole CPUs.
  const c = find(objs, 'Deployment', 'tixin').spec.template.spec.containers[0];
  assert.deepEqual(c.resources.requests, c.resources.limits, 'tixin requests = limits (Guaranteed QoS)');
  assert.ok(Number.isInteger(cpu(c.resources.limits.cpu)), 'whole CPUs, so the static CPU manager pins them');
  const pvc = find(objs, 'StatefulSet', 'postgres').spec.volumeClaimTemplates[0].spec;
  assert.equal(pvc.storageClassName, 'local-path', "k3s's local-path provisioner");
});

test('cloud: scales further and spreads over zones', () => {
  const objs = objects('cloud');
  assert.ok(find(objs, 'HorizontalPodAutoscaler', 'tixin').spec.maxReplicas >= 10);
  const spec = find(objs, 'Deployment', 'tixin').spec.template.spec;
  assert.ok(spec.topologySpreadConstraints.some((t) => t.topologyKey === 'topology.kubernetes.io/zone'));
  assert.ok(!find(objs, 'Deployment', 'tixin').spec.template.spec.containers[0].image.startsWith('localhost/'));
});
