import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  type ClusterTopology,
  type SentinelTopology,
  type StandaloneTopology,
  startTopology,
  TOPOLOGY_ENV,
  type Topology,
  type TopologyKind,
} from "./index.js";

const USAGE = `Usage: npm run topology -- up <standalone|sentinel|cluster> [options]

Starts a topology from redis-server on PATH, prints its addresses and the URL
to give the store, and keeps it running until Ctrl-C (or SIGTERM), which stops
every server it started.

Options:
  --password <pw>           password of the data nodes
  --user <name>             ACL user (with --password); the default user is turned off
  --sentinel-password <pw>  password of the sentinels
  --master-name <name>      sentinel master name (default mymaster)
  --tls                     serve TLS only, with a CA made for this run (its path is printed)
  -h, --help                this text
`;

const KINDS: readonly TopologyKind[] = ["standalone", "sentinel", "cluster"];

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        password: { type: "string" },
        user: { type: "string" },
        "sentinel-password": { type: "string" },
        "master-name": { type: "string" },
        tls: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [command, kindArg] = positionals;
if (command !== "up") fail(command ? `Unknown command \`${command}\`` : "Missing command");
if (!KINDS.includes(kindArg as TopologyKind)) {
  fail(`Expected a topology of ${KINDS.join(", ")}, got \`${kindArg ?? ""}\``);
}
const kind = kindArg as TopologyKind;
// This command exists to start servers, not to describe ones already running elsewhere.
delete process.env[TOPOLOGY_ENV[kind]];

let topology: Topology | undefined;
let stopping = false;

/** `reason` is the signal name, or why we stop without one. */
async function shutdown(reason: string): Promise<void> {
  if (stopping) {
    // A second Ctrl-C while stopping: the harness's exit hook still SIGKILLs everything.
    process.exit(130);
  }
  stopping = true;
  process.stdout.write(`\n${reason}: stopping ${kind}...\n`);
  await topology?.stop();
  process.stdout.write("stopped; nothing left running\n");
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGHUP", shutdown);

function parentOf(pid: number): number | undefined {
  try {
    // The command name in field 2 may hold spaces and parentheses; the ppid follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * `npm run` starts us through `sh -c` and tsx. A SIGTERM to npm kills the sh
 * but reaches neither tsx nor us, which would leave the servers running for
 * good. So watch the launcher chain: when any of the nearest ancestors is gone
 * (its child gets a new parent), stop as if signalled.
 */
function watchLaunchers(): void {
  const chain: Array<[pid: number, parent: number]> = [];
  let pid = process.pid;
  for (let depth = 0; depth < 3; depth++) {
    const parent = depth === 0 ? process.ppid : parentOf(pid);
    if (parent === undefined || parent <= 1) break;
    chain.push([pid, parent]);
    pid = parent;
  }
  setInterval(() => {
    const broken = chain.some(([child, parent]) => {
      const now = child === process.pid ? process.ppid : parentOf(child);
      return now !== undefined && now !== parent;
    });
    if (broken) void shutdown("the npm/tsx process that started us is gone");
  }, 500).unref();
}
watchLaunchers();

const row = (addr: { host: string; port: number }, role: string, pid: number) =>
  `  ${`${addr.host}:${addr.port}`.padEnd(22)} ${role.padEnd(34)} pid ${pid}`;

async function describeStandalone(t: StandaloneTopology): Promise<string[]> {
  return [row(t.node, "standalone", t.node.pid)];
}

async function describeSentinel(t: SentinelTopology): Promise<string[]> {
  const master = await t.currentMaster();
  return [
    row(master, `master (${t.masterName})`, master.pid),
    ...(await t.replicas()).map((r) => row(r, `replica of ${master.host}:${master.port}`, r.pid)),
    ...t.sentinels.map((s) => row(s, "sentinel", s.pid)),
  ];
}

async function describeCluster(t: ClusterTopology): Promise<string[]> {
  const lines: string[] = [];
  for (const master of await t.masters()) {
    lines.push(row(master, "master", master.pid));
    const replica = await t.replicaOf(master);
    if (replica) lines.push(row(replica, `replica of ${master.host}:${master.port}`, replica.pid));
  }
  return lines;
}

try {
  const started = Date.now();
  topology = await startTopology(kind, {
    password: values.password,
    user: values.user,
    sentinelPassword: values["sentinel-password"],
    masterName: values["master-name"],
    tls: values.tls,
  });
  const lines =
    topology.kind === "standalone"
      ? await describeStandalone(topology)
      : topology.kind === "sentinel"
        ? await describeSentinel(topology)
        : await describeCluster(topology);
  process.stdout.write(
    [
      `${kind} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (provider: ${topology.provider})`,
      ...lines,
      "",
      `URL for the store:  ${topology.url}`,
      ...(topology.tls
        ? [
            `CA certificate:     ${topology.tls.caFile} (redisOptions: { tls: { ca } })`,
            // The suites' clients take no CA from the environment; TLS tests start their own servers.
            "The test suites cannot run against a TLS topology from the environment.",
          ]
        : [
            "Run the tests against it:",
            `  ${TOPOLOGY_ENV[kind]}='${topology.url}' npm run test:${kind}`,
          ]),
      "",
      "Ctrl-C stops every server above.",
      "",
    ].join("\n"),
  );
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  await topology?.stop();
  process.exit(1);
}
