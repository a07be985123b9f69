// What can be checked in compose/ without a Docker engine: the shape of each topology, the
// image pins, the health checks, and that every address a node announces is one the host
// can dial. compose/README.md explains the layout these tests hold the files to.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../", import.meta.url));
const composeDir = join(root, "compose");
const runScript = join(composeDir, "run.sh");

const TOPOLOGIES = ["standalone", "sentinel", "cluster"] as const;
type Topology = (typeof TOPOLOGIES)[number];

const LOOPBACK = "127.0.0.1";
const CLUSTER_BUS_OFFSET = 10_000;

interface Service {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<
    string | number | { target?: number; published?: string | number; host_ip?: string }
  >;
  healthcheck?: { test?: string | string[]; interval?: string; retries?: number };
  network_mode?: string;
  depends_on?: string[] | Record<string, { condition?: string }>;
}

interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
}

type Role = "holder" | "data" | "sentinel";

interface Node {
  name: string;
  role: Role;
  service: Service;
  env: Record<string, string>;
  /** The port the process listens on inside the shared namespace (none for a holder). */
  port: number | undefined;
}

interface Published {
  ip: string;
  host: number;
  container: number;
}

const rawText = (topology: Topology): string =>
  readFileSync(join(composeDir, `${topology}.yml`), "utf8");

// Compose resolves `${VAR:-default}` from the environment; the defaults are what ships.
// A bare `$` that is neither `$$` nor a defaulted variable is rejected by the
// "no stray dollar" test below, so this only has to handle those two forms.
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}/g;
const withDefaults = (value: string): string =>
  value.replace(VARIABLE, (_, _name: string, fallback: string) => fallback).replaceAll("$$", "$");

const load = (topology: Topology): ComposeFile => {
  const doc = parse(rawText(topology), { merge: true }) as ComposeFile;
  expect(doc?.services, `${topology}.yml has no services`).toBeTypeOf("object");
  return doc;
};

const envOf = (service: Service): Record<string, string> => {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf("=");
        return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? "")]));
};

const publishedPorts = (service: Service): Published[] =>
  (service.ports ?? []).map((entry) => {
    if (typeof entry === "object") {
      return {
        ip: withDefaults(entry.host_ip ?? ""),
        host: Number(withDefaults(String(entry.published ?? ""))),
        container: Number(entry.target),
      };
    }
    const parts = withDefaults(String(entry))
      .replace(/\/(tcp|udp)$/, "")
      .split(":");
    const container = Number(parts.at(-1));
    const host = parts.length >= 2 ? Number(parts.at(-2)) : Number.NaN;
    const ip = parts.length >= 3 ? parts.slice(0, -2).join(":") : "";
    return { ip, host, container };
  });

const healthCommand = (service: Service): string => {
  const test = service.healthcheck?.test;
  if (typeof test === "string") return withDefaults(test);
  if (!Array.isArray(test) || test.length < 2) return "";
  const [kind, ...rest] = test;
  if (kind === "CMD-SHELL") return withDefaults(rest.join(" "));
  if (kind === "CMD") return withDefaults(rest.join(" "));
  return "";
};

const namespaceOwner = (service: Service): string | undefined =>
  service.network_mode?.startsWith("service:")
    ? service.network_mode.slice("service:".length)
    : undefined;

const nodesOf = (doc: ComposeFile): Node[] => {
  const holders = new Set(
    Object.values(doc.services)
      .map(namespaceOwner)
      .filter((name): name is string => name !== undefined),
  );
  return Object.entries(doc.services).map(([name, service]) => {
    const env = envOf(service);
    const image = service.image ?? "";
    let role: Role;
    if (holders.has(name)) role = "holder";
    else if (image.includes("REDIS_SENTINEL_IMAGE")) role = "sentinel";
    else role = "data";
    const portVar = role === "sentinel" ? env.REDIS_SENTINEL_PORT_NUMBER : env.REDIS_PORT_NUMBER;
    const port = role === "holder" ? undefined : Number(portVar ?? 6379);
    return { name, role, service, env, port };
  });
};

const byRole = (nodes: Node[], role: Role): Node[] => nodes.filter((n) => n.role === role);

const portsInCommand = (command: string): number[] =>
  [...command.matchAll(/-p\s+(\d+)/g)].map((m) => Number(m[1]));

/** The URLs `run.sh up` prints, keyed by topology. */
const runScriptUrls = (): Record<string, string> => {
  const text = readFileSync(runScript, "utf8");
  return Object.fromEntries(
    [...text.matchAll(/^\s*(standalone|sentinel|cluster)\)\s*url="([^"]+)"/gm)].map((m) => [
      m[1],
      m[2],
    ]),
  );
};

const urlPorts = (url: string): number[] =>
  [...url.replace(/#.*$/, "").matchAll(/:(\d+)/g)].map((m) => Number(m[1]));

const runSh = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync("/bin/sh", [runScript, ...args], { cwd: root, env, encoding: "utf8", timeout: 10_000 });

describe("compose topologies", () => {
  it("has the expected services in each topology", () => {
    const standalone = nodesOf(load("standalone"));
    expect(byRole(standalone, "data")).toHaveLength(1);
    expect(standalone).toHaveLength(1);

    const sentinel = nodesOf(load("sentinel"));
    const data = byRole(sentinel, "data");
    expect(data).toHaveLength(3);
    expect(byRole(sentinel, "sentinel")).toHaveLength(3);
    expect(byRole(sentinel, "holder")).toHaveLength(1);
    expect(sentinel).toHaveLength(7);
    expect(data.filter((n) => n.env.REDIS_REPLICATION_MODE === "master")).toHaveLength(1);
    expect(
      data.filter((n) => ["replica", "slave"].includes(n.env.REDIS_REPLICATION_MODE ?? "")),
    ).toHaveLength(2);

    const cluster = nodesOf(load("cluster"));
    const clusterNodes = byRole(cluster, "data");
    expect(clusterNodes).toHaveLength(6);
    expect(byRole(cluster, "holder")).toHaveLength(1);
    expect(cluster).toHaveLength(7);
    for (const node of clusterNodes) {
      expect(node.service.image, node.name).toContain("REDIS_CLUSTER_IMAGE");
    }
    // Exactly one node runs `redis-cli --cluster create`; 1 replica per master over six
    // nodes gives three masters and three replicas.
    const creators = clusterNodes.filter((n) => n.env.REDIS_CLUSTER_CREATOR === "yes");
    expect(creators.map((n) => n.name)).toHaveLength(1);
    expect(creators[0]?.env.REDIS_CLUSTER_REPLICAS).toBe("1");
  });

  it("names each compose project the way run.sh does", () => {
    const script = readFileSync(runScript, "utf8");
    expect(script).toContain('project="connect-redis-ha-$topology"');
    for (const topology of TOPOLOGIES) {
      expect(load(topology).name).toBe(`connect-redis-ha-${topology}`);
    }
  });

  it("makes every image an overridable variable with a pinned 7.x default", () => {
    const defaults = new Map<string, string>();
    const expectedVariable: Record<Topology, Partial<Record<Role, string>>> = {
      standalone: { data: "REDIS_IMAGE" },
      sentinel: { data: "REDIS_IMAGE", sentinel: "REDIS_SENTINEL_IMAGE", holder: "REDIS_IMAGE" },
      cluster: { data: "REDIS_CLUSTER_IMAGE", holder: "REDIS_CLUSTER_IMAGE" },
    };
    const expectedRepository: Record<string, string> = {
      REDIS_IMAGE: "bitnamilegacy/redis",
      REDIS_SENTINEL_IMAGE: "bitnamilegacy/redis-sentinel",
      REDIS_CLUSTER_IMAGE: "bitnamilegacy/redis-cluster",
    };
    for (const topology of TOPOLOGIES) {
      for (const node of nodesOf(load(topology))) {
        const where = `${topology}.yml ${node.name}`;
        const match = /^\$\{([A-Z][A-Z0-9_]*):-([^}]+)\}$/.exec(node.service.image ?? "");
        expect(match, `${where}: image must be \${VAR:-default}`).not.toBeNull();
        const [, variable = "", fallback = ""] = match ?? [];
        expect(variable, where).toBe(expectedVariable[topology][node.role]);

        const colon = fallback.lastIndexOf(":");
        const repository = fallback.slice(0, colon);
        const tag = fallback.slice(colon + 1);
        expect(repository, where).toBe(expectedRepository[variable]);
        expect(tag, `${where}: the default tag must be pinned`).not.toBe("latest");
        expect(tag, where).toMatch(/^7\.\d+\.\d+-debian-\d+-r\d+$/);

        // One variable means one image everywhere, so a single override is enough.
        expect(defaults.get(variable) ?? fallback, `${where}: default differs`).toBe(fallback);
        defaults.set(variable, fallback);
      }
    }
    expect([...defaults.keys()].sort()).toEqual(Object.keys(expectedRepository).sort());
  });

  it("leaves no `$` for compose to interpolate by surprise", () => {
    for (const topology of TOPOLOGIES) {
      const rest = rawText(topology)
        .split("\n")
        .filter((line) => !line.trimStart().startsWith("#"))
        .join("\n")
        .replace(VARIABLE, "")
        .replaceAll("$$", "");
      expect(rest.includes("$"), `${topology}.yml: write a literal $ as $$`).toBe(false);
    }
  });

  it("gives every service a health check that waits for its readiness signal", () => {
    for (const topology of TOPOLOGIES) {
      const nodes = nodesOf(load(topology));
      const masterSet = nodes.find((n) => n.role === "sentinel")?.env.REDIS_MASTER_SET;
      for (const node of nodes) {
        const where = `${topology}.yml ${node.name}`;
        const command = healthCommand(node.service);
        expect(command, `${where}: missing healthcheck.test`).not.toBe("");
        expect(node.service.healthcheck?.retries ?? 0, where).toBeGreaterThanOrEqual(10);

        if (node.role === "holder") {
          // The namespace holder runs no Redis; it is healthy when every port it
          // publishes answers PING.
          expect(command, where).toMatch(/redis-cli -p \$\w+ ping/);
          expect(command, where).toContain("PONG");
          for (const { container } of publishedPorts(node.service)) {
            expect(command.split(/[\s;]+/), `${where}: port ${container}`).toContain(
              String(container),
            );
          }
          continue;
        }

        // A check that probes a sibling's port would report the wrong container.
        const probed = portsInCommand(command);
        expect(probed.length, `${where}: no redis-cli -p <port>`).toBeGreaterThan(0);
        expect(new Set(probed), where).toEqual(new Set([node.port]));

        if (node.role === "sentinel") {
          expect(command, where).toContain(`sentinel get-master-addr-by-name ${masterSet}`);
          const sentinels = byRole(nodes, "sentinel").length;
          const replicas = byRole(nodes, "data").length - 1;
          expect(command, where).toContain(`slaves=${replicas},sentinels=${sentinels}`);
        } else if (topology === "cluster") {
          expect(command, where).toContain("cluster info");
          expect(command, where).toContain("cluster_state:ok");
        } else if (node.env.REDIS_REPLICATION_MODE === "replica") {
          expect(command, where).toContain("info replication");
          expect(command, where).toContain("master_link_status:up");
        } else {
          expect(command, where).toMatch(/redis-cli -p \d+ ping/);
          expect(command, where).toContain("PONG");
        }
      }
    }
  });

  it("publishes distinct host ports, each under the number the process listens on", () => {
    const seen = new Map<number, string>();
    for (const topology of TOPOLOGIES) {
      for (const node of nodesOf(load(topology))) {
        for (const port of publishedPorts(node.service)) {
          const where = `${topology}.yml ${node.name} port ${port.host}`;
          expect(Number.isInteger(port.host) && port.host > 0, where).toBe(true);
          // Nodes announce the number they listen on, so the host must see the same one.
          expect(port.container, where).toBe(port.host);
          expect(port.ip, `${where}: bind the loopback by default`).toBe(LOOPBACK);
          expect(seen.get(port.host), `${where}: already published`).toBeUndefined();
          seen.set(port.host, where);
        }
      }
    }
    expect(seen.size).toBe(1 + 6 + 6);
  });

  it("publishes exactly the ports the processes in each namespace listen on", () => {
    for (const topology of ["sentinel", "cluster"] as const) {
      const nodes = nodesOf(load(topology));
      const [holder] = byRole(nodes, "holder");
      expect(holder, topology).toBeDefined();
      if (!holder) continue;
      expect(holder.service.network_mode, topology).toBeUndefined();

      const listening: number[] = [];
      for (const node of nodes.filter((n) => n.role !== "holder")) {
        const where = `${topology}.yml ${node.name}`;
        expect(node.service.network_mode, where).toBe(`service:${holder.name}`);
        // A service in another's namespace cannot publish ports of its own.
        expect(node.service.ports ?? [], where).toEqual([]);
        listening.push(node.port ?? Number.NaN);
      }
      expect(new Set(listening).size, `${topology}: two processes on one port`).toBe(
        listening.length,
      );
      const published = publishedPorts(holder.service).map((p) => p.host);
      expect([...published].sort(), topology).toEqual([...listening].sort());
    }

    const standalone = nodesOf(load("standalone"));
    expect(standalone[0]?.service.network_mode).toBeUndefined();
    expect(publishedPorts(standalone[0]?.service ?? {}).map((p) => p.container)).toEqual([
      standalone[0]?.port,
    ]);
  });

  it("announces 127.0.0.1 and the published port from every cluster node", () => {
    const nodes = byRole(nodesOf(load("cluster")), "data");
    const published = new Set(
      publishedPorts(byRole(nodesOf(load("cluster")), "holder")[0]?.service ?? {}).map(
        (p) => p.host,
      ),
    );
    const addresses = nodes.map((n) => `${LOOPBACK}:${n.port}`);
    const busPorts = new Set<number>();
    for (const node of nodes) {
      const where = node.name;
      // With Bitnami's dynamic IPs on, the node announces its container address instead.
      expect(node.env.REDIS_CLUSTER_DYNAMIC_IPS, where).toBe("no");
      expect(node.env.REDIS_CLUSTER_ANNOUNCE_IP, where).toBe(LOOPBACK);
      const announced = Number(node.env.REDIS_CLUSTER_ANNOUNCE_PORT);
      expect(announced, where).toBe(node.port);
      expect(published.has(announced), `${where}: announces unpublished ${announced}`).toBe(true);
      // The bus port is redis' default offset from the client port and stays unpublished.
      const bus = Number(node.env.REDIS_CLUSTER_ANNOUNCE_BUS_PORT);
      expect(bus, where).toBe(announced + CLUSTER_BUS_OFFSET);
      expect(published.has(bus), where).toBe(false);
      busPorts.add(bus);
      // The creator builds the cluster from this list, so it must name every node.
      expect((node.env.REDIS_NODES ?? "").split(/[\s,;]+/).filter(Boolean), where).toEqual(
        addresses,
      );
    }
    expect(busPorts.size).toBe(nodes.length);
  });

  it("announces 127.0.0.1 and the published port from every sentinel and data node", () => {
    const nodes = nodesOf(load("sentinel"));
    const published = new Set(
      publishedPorts(byRole(nodes, "holder")[0]?.service ?? {}).map((p) => p.host),
    );
    const data = byRole(nodes, "data");
    const sentinels = byRole(nodes, "sentinel");
    const master = data.find((n) => n.env.REDIS_REPLICATION_MODE === "master");
    expect(master).toBeDefined();

    for (const node of data) {
      // Bitnami defaults replica-announce-port to the *master's* port; it must be set.
      expect(node.env.REDIS_REPLICA_IP, node.name).toBe(LOOPBACK);
      expect(Number(node.env.REDIS_REPLICA_PORT), node.name).toBe(node.port);
      expect(published.has(node.port ?? 0), node.name).toBe(true);
      if (node !== master) {
        expect(node.env.REDIS_MASTER_HOST, node.name).toBe(LOOPBACK);
        expect(Number(node.env.REDIS_MASTER_PORT_NUMBER), node.name).toBe(master?.port);
      }
    }

    const quorums = new Set<string>();
    for (const node of sentinels) {
      expect(node.env.REDIS_SENTINEL_ANNOUNCE_IP, node.name).toBe(LOOPBACK);
      expect(Number(node.env.REDIS_SENTINEL_ANNOUNCE_PORT), node.name).toBe(node.port);
      expect(published.has(node.port ?? 0), node.name).toBe(true);
      expect(node.env.REDIS_MASTER_HOST, node.name).toBe(LOOPBACK);
      expect(Number(node.env.REDIS_MASTER_PORT_NUMBER), node.name).toBe(master?.port);
      expect(node.env.REDIS_MASTER_SET, node.name).toBe("mymaster");
      quorums.add(node.env.REDIS_SENTINEL_QUORUM ?? "");
    }
    // One quorum for all, a majority of the sentinels, so one lost sentinel still fails over.
    expect(quorums.size).toBe(1);
    const quorum = Number([...quorums][0]);
    expect(quorum).toBeGreaterThan(sentinels.length / 2);
    expect(quorum).toBeLessThan(sentinels.length);
  });

  it("orders start-up by depends_on without a cycle or a wait on unreachable health", () => {
    for (const topology of TOPOLOGIES) {
      const doc = load(topology);
      const edges = new Map<string, Array<{ on: string; condition: string }>>();
      for (const [name, service] of Object.entries(doc.services)) {
        const deps = service.depends_on ?? [];
        const list = Array.isArray(deps)
          ? deps.map((on) => ({ on, condition: "service_started" }))
          : Object.entries(deps).map(([on, d]) => ({
              on,
              condition: d?.condition ?? "service_started",
            }));
        const owner = namespaceOwner(service);
        if (owner) {
          expect(
            list.map((d) => d.on),
            `${topology}.yml ${name}`,
          ).toContain(owner);
        }
        for (const dep of list) {
          const target = doc.services[dep.on];
          expect(target, `${topology}.yml ${name} depends on unknown ${dep.on}`).toBeDefined();
          if (dep.condition === "service_healthy") {
            expect(target?.healthcheck?.test, `${name} waits on ${dep.on}`).toBeDefined();
          }
        }
        edges.set(name, list);
      }

      // Depth-first search for a cycle.
      const state = new Map<string, "open" | "done">();
      const visit = (name: string, path: string[]): void => {
        if (state.get(name) === "done") return;
        expect(state.get(name), `${topology}.yml cycle: ${[...path, name].join(" -> ")}`).not.toBe(
          "open",
        );
        state.set(name, "open");
        for (const dep of edges.get(name) ?? []) visit(dep.on, [...path, name]);
        state.set(name, "done");
      };
      for (const name of edges.keys()) visit(name, []);

      if (topology === "cluster") {
        // Every node's health needs the cluster the creator builds, so waiting for a
        // node to be healthy before the creator runs would never end.
        for (const list of edges.values()) {
          expect(list.filter((d) => d.condition === "service_healthy")).toEqual([]);
        }
      }
    }
  });

  it("documents every variable and the store URL of each topology", () => {
    const readme = readFileSync(join(composeDir, "README.md"), "utf8");
    for (const topology of TOPOLOGIES) {
      for (const [, variable] of rawText(topology).matchAll(VARIABLE)) {
        expect(readme, `${variable} is not in compose/README.md`).toContain(variable);
      }
    }

    const urls = runScriptUrls();
    expect(Object.keys(urls).sort()).toEqual([...TOPOLOGIES].sort());
    for (const topology of TOPOLOGIES) {
      const url = urls[topology] ?? "";
      expect(readme, `${topology} URL`).toContain(url);
      const nodes = nodesOf(load(topology));
      // The URL's seeds are the entry points of the topology: sentinels, or data nodes.
      const entry = byRole(nodes, topology === "sentinel" ? "sentinel" : "data").map((n) => n.port);
      const ports = urlPorts(url);
      expect(ports.length, url).toBeGreaterThan(0);
      for (const port of ports) expect(entry, `${url}: port ${port}`).toContain(port);
      if (topology === "sentinel") {
        const masterSet = nodes.find((n) => n.role === "sentinel")?.env.REDIS_MASTER_SET;
        expect(url.endsWith(`#${masterSet}`), url).toBe(true);
        expect([...ports].sort()).toEqual([...entry].sort());
      }
    }
  });
});

describe("compose/run.sh", () => {
  it("rejects an unknown topology before it looks for docker", () => {
    const result = runSh(["up", "nope"]);
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    expect(result.stderr).toContain("unknown topology 'nope'");
    expect(result.stderr).toContain("standalone, sentinel, cluster");
  });

  it("rejects an unknown or missing action", () => {
    const unknown = runSh(["restart", "cluster"]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toContain("unknown action 'restart'");

    const missing = runSh([]);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("usage: sh compose/run.sh up|down");
  });

  it("says so when docker is not installed", () => {
    const emptyPath = mkdtempSync(join(tmpdir(), "no-docker-"));
    try {
      const result = runSh(["up", "standalone"], { PATH: emptyPath });
      expect(result.status).toBe(3);
      expect(result.stderr).toContain("docker was not found on PATH");
      expect(result.stdout).toBe("");
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  });
});
