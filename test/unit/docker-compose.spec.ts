import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * No Docker engine or compose plugin runs here, so this reads docker-compose.yml the way compose
 * would (YAML merge keys included) and checks what docs/scale-out.md promises about it.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const composeText = readFileSync(`${root}docker-compose.yml`, 'utf8');
const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | { target: number; published: string | number }>;
  volumes?: Array<string | { source?: string; target: string }>;
  depends_on?: string[] | Record<string, unknown>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(composeText, { merge: true }) as Compose;
const services = compose.services;
const nodeNames = Object.keys(services).filter((name) => /kurrentdb|eventstore/.test(services[name]?.image ?? ''));
const ledger = services['ledger'];

function env(service: Service | undefined): Record<string, string> {
  const raw = service?.environment ?? {};
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((line) => [line.split('=')[0]!, line.slice(line.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function volumeTargets(service: Service | undefined): Array<{ source: string; target: string }> {
  return (service?.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target };
    const [source, target] = v.split(':');
    return { source: source ?? '', target: target ?? '' };
  });
}

function dependsOn(service: Service | undefined): string[] {
  const d = service?.depends_on ?? [];
  return Array.isArray(d) ? d : Object.keys(d);
}

describe('docker-compose.yml: a 3-node KurrentDB cluster', () => {
  it('runs three nodes from the official image, pinned to a 25.1+ release', () => {
    expect(nodeNames).toHaveLength(3);
    for (const name of nodeNames) {
      const image = services[name]!.image!;
      const match = /^docker\.kurrent\.io\/kurrent-latest\/kurrentdb:(\d+)\.(\d+)\.(\d+)$/.exec(image);
      expect(match).not.toBeNull();
      const [major, minor] = [Number(match![1]), Number(match![2])];
      expect(major > 25 || (major === 25 && minor >= 1)).toBe(true);
    }
  });

  it('forms one cluster of size 3 in which every node gossips with the other two', () => {
    for (const name of nodeNames) {
      const e = env(services[name]);
      expect(e['KURRENTDB_CLUSTER_SIZE']).toBe('3');
      expect(e['KURRENTDB_DISCOVER_VIA_DNS']).toBe('false');
      const seeds = e['KURRENTDB_GOSSIP_SEED']!.split(',').map((s) => s.trim());
      expect(seeds.sort()).toEqual(nodeNames.filter((n) => n !== name).map((n) => `${n}:2113`).sort());
      // advertised under the name the others and the ledger resolve
      expect(e['KURRENTDB_NODE_HOST_ADVERTISE_AS']).toBe(name);
      expect(e['KURRENTDB_REPLICATION_HOST_ADVERTISE_AS']).toBe(name);
    }
  });

  it('marks insecure dev mode as such, on every node', () => {
    for (const name of nodeNames) expect(env(services[name])['KURRENTDB_INSECURE']).toBe('true');
    expect(composeText).toMatch(/INSECURE DEV MODE/);
  });

  it('keeps each node’s data in its own named volume', () => {
    const sources = nodeNames.map((name) => {
      const data = volumeTargets(services[name]).find((v) => v.target === '/var/lib/kurrentdb');
      expect(data).toBeDefined();
      expect(compose.volumes).toHaveProperty(data!.source);
      return data!.source;
    });
    expect(new Set(sources).size).toBe(3);
  });
});

describe('docker-compose.yml: the ledger on the cluster', () => {
  it('is built from the Dockerfile and configured for KurrentDB', () => {
    expect(ledger).toBeDefined();
    const build = typeof ledger!.build === 'string' ? { context: ledger!.build } : ledger!.build;
    expect(build?.context).toBe('.');
    expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(env(ledger)['LEDGER_EVENT_STORE']).toBe('kurrentdb');
  });

  it('names all three nodes in KURRENTDB_CONNECTION_STRING, without TLS like the nodes', () => {
    const url = env(ledger)['KURRENTDB_CONNECTION_STRING']!;
    const match = /^kurrentdb:\/\/([^?/]+)\??(.*)$/.exec(url);
    expect(match).not.toBeNull();
    const hosts = match![1]!.split(',');
    expect(hosts.sort()).toEqual(nodeNames.map((n) => `${n}:2113`).sort());
    expect(new URLSearchParams(match![2]).get('tls')).toBe('false');
  });

  it('publishes port 3000, keeps its data dir in a volume and starts after the nodes', () => {
    expect(ledger!.ports?.map(String)).toContain('3000:3000');
    const dataDir = env(ledger)['LEDGER_DATA_DIR'] ?? '/data';
    const data = volumeTargets(ledger).find((v) => v.target === dataDir);
    expect(data).toBeDefined();
    expect(compose.volumes).toHaveProperty(data!.source);
    expect(dependsOn(ledger).sort()).toEqual([...nodeNames].sort());
  });
});

describe('Dockerfile', () => {
  it('builds on node:20-bookworm-slim with the native toolchain and runs the compiled service', () => {
    expect(dockerfile.match(/^FROM node:20-bookworm-slim/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/apt-get install[^\n]*python3 make g\+\+/);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });
});
