/**
 * Scenario 3, serializers: MessagePack (the default) against JSON for a small,
 * a typical (~1 KB) and a large (~100 KB) session: stored bytes, encode and
 * decode time. The rows call the store's own serializers, so msgpack includes
 * the pass that applies JSON's rules (toJSON, dropping undefined...) before
 * packing; "msgpackr alone" leaves that pass out to show what it costs.
 * Decoding starts from the bytes Redis returns (a Buffer), as the store does.
 *
 *   node --import tsx bench/serializers.ts
 */
import { Packr } from "msgpackr";
import { describeMachine } from "./lib/machine.js";
import {
  type Align,
  fmt,
  printHeader,
  printTargets,
  renderTable,
  type Target,
  writeResults,
} from "./lib/report.js";
import { runMain } from "./lib/resources.js";
import { largeSession, smallSession, typicalSession } from "./lib/sessions.js";
import { rounds as roundsSetting, scaled } from "./lib/settings.js";
import { median, rotate } from "./lib/stats.js";
import { ha, subjectModule } from "./lib/subject.js";

const ROUNDS = roundsSetting(5);
const SLICE_MS = scaled(100);

interface Format {
  id: string;
  label: string;
  encode(session: unknown): Buffer | string;
  decode(raw: Buffer): unknown;
}

// The store's packer settings, without its JSON-rules pass.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

const FORMATS: Format[] = [
  {
    id: "json",
    label: "JSON",
    encode: (s) => ha.jsonSerializer.stringify(s as never) as string,
    decode: (raw) => ha.jsonSerializer.parse(raw as unknown as string),
  },
  {
    id: "msgpack",
    label: "msgpack (store serializer)",
    encode: (s) => ha.msgpackSerializer.stringify(s as never) as Buffer,
    decode: (raw) => ha.msgpackSerializer.parse(raw as unknown as string),
  },
  {
    id: "msgpackr",
    label: "msgpackr alone (no JSON-rules pass)",
    encode: (s) => packr.pack(s),
    decode: (raw) => packr.unpack(raw),
  },
];

const SIZES = [
  { id: "small", label: "small (user id)", make: smallSession },
  { id: "typical", label: "typical (~1 KB JSON)", make: typicalSession },
  { id: "large", label: "large (~100 KB JSON)", make: largeSession },
];

let sink: unknown;

/** Microseconds per call of `fn`, timed in batches for `ms` milliseconds. */
function timePerCall(fn: () => unknown, ms: number): number {
  let calls = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) sink = fn();
    calls += batch;
    now = performance.now();
    if (batch < 1024) batch *= 2;
  }
  return ((now - start) * 1000) / calls;
}

const bytesOf = (v: Buffer | string) => (typeof v === "string" ? Buffer.byteLength(v) : v.length);

interface Row {
  size: string;
  format: string;
  label: string;
  bytes: number;
  bytesVsJson: number;
  encodeMicros: number;
  decodeMicros: number;
  encodeSpeedVsJson: number;
  decodeSpeedVsJson: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = await describeMachine();
  const notes = [
    `Store under test: ${subjectModule}. ${ROUNDS} interleaved rounds of ${SLICE_MS} ms per cell; medians. No Redis involved.`,
    "Speed ratios are JSON's time divided by the format's (above 1x = faster than JSON).",
  ];
  printHeader("Serializers: MessagePack vs JSON", machine, notes);

  const rows: Row[] = [];
  for (const size of SIZES) {
    const session = size.make();
    const stored = new Map<string, Buffer>();
    for (const f of FORMATS) {
      const encoded = f.encode(session);
      stored.set(f.id, typeof encoded === "string" ? Buffer.from(encoded) : encoded);
    }
    const enc = new Map<string, number[]>(FORMATS.map((f) => [f.id, []]));
    const dec = new Map<string, number[]>(FORMATS.map((f) => [f.id, []]));
    // Warm-up, then interleaved rounds.
    for (const f of FORMATS) {
      timePerCall(() => f.encode(session), SLICE_MS);
      timePerCall(() => f.decode(stored.get(f.id)!), SLICE_MS);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const f of rotate(FORMATS, round)) {
        const raw = stored.get(f.id)!;
        enc.get(f.id)!.push(timePerCall(() => f.encode(session), SLICE_MS));
        dec.get(f.id)!.push(timePerCall(() => f.decode(raw), SLICE_MS));
      }
    }
    const jsonBytes = stored.get("json")!.length;
    const jsonEnc = enc.get("json")!;
    const jsonDec = dec.get("json")!;
    for (const f of FORMATS) {
      const e = enc.get(f.id)!;
      const d = dec.get(f.id)!;
      rows.push({
        size: size.id,
        format: f.id,
        label: f.label,
        bytes: bytesOf(stored.get(f.id)!),
        bytesVsJson: stored.get(f.id)!.length / jsonBytes,
        encodeMicros: median(e),
        decodeMicros: median(d),
        encodeSpeedVsJson: median(e.map((t, i) => jsonEnc[i]! / t)),
        decodeSpeedVsJson: median(d.map((t, i) => jsonDec[i]! / t)),
      });
    }
  }
  void sink;

  const align: Align[] = ["l", "l", "r", "r", "r", "r", "r", "r"];
  const table = renderTable(
    [
      "session",
      "format",
      "bytes",
      "vs JSON",
      "encode µs",
      "encode speed vs JSON",
      "decode µs",
      "decode speed vs JSON",
    ],
    rows.map((r, i) => [
      i > 0 && rows[i - 1]!.size === r.size
        ? ""
        : (SIZES.find((s) => s.id === r.size)?.label ?? r.size),
      r.label,
      fmt.bytes(r.bytes),
      fmt.ratio(r.bytesVsJson),
      fmt.us(r.encodeMicros),
      fmt.ratio(r.encodeSpeedVsJson),
      fmt.us(r.decodeMicros),
      fmt.ratio(r.decodeSpeedVsJson),
    ]),
    align,
  );
  console.log(table);

  const typical = rows.find((r) => r.size === "typical" && r.format === "msgpack");
  const targets: Target[] = [
    {
      scenario: "serializers",
      what: "msgpack bytes vs JSON, typical session",
      actual: typical?.bytesVsJson,
      goal: 0.75,
      kind: "atMost",
      unit: "x",
    },
  ];
  printTargets(targets);
  writeResults({
    scenario: "serializers",
    finishedAt: new Date().toISOString(),
    durationSec: (Date.now() - started) / 1000,
    machine,
    settings: { rounds: ROUNDS, sliceMs: SLICE_MS, notes },
    tables: { serializers: table },
    rows,
    targets,
  });
}

await runMain(main);
