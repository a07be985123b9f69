import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { LOCALHOST } from "./ports.js";
import { findOnPath } from "./process.js";

const execFileAsync = promisify(execFile);

/**
 * The certificates of a TLS topology, made fresh for it and removed with it.
 * One CA signs one server certificate that every node of the topology
 * (sentinels included) presents, so a client only needs `ca`.
 */
export interface TlsMaterial {
  /** PEM of the CA: what a client passes as `tls: { ca }` (and `sentinelTLS: { ca }`). */
  ca: string;
  caFile: string;
  /** Server certificate (SAN IP:127.0.0.1 and DNS:localhost), also fit as a client certificate. */
  certFile: string;
  keyFile: string;
}

// Written next to the keys and passed with -config, so the system's
// openssl.cnf (and its default extensions) never shapes the certificates.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = connect-redis-ha test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:${LOCALHOST},DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

// EC P-256: key generation takes milliseconds, where RSA 2048 can take a second.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"];
// The files die with the topology; two days covers a clock that is off by a day.
const DAYS = ["-days", "2"];

async function openssl(bin: string, args: string[]): Promise<void> {
  await execFileAsync(bin, args, { timeout: 10_000 }).catch(
    (error: Error & { stderr?: string }) => {
      throw new Error(`openssl ${args[0]} failed: ${error.message}\n${error.stderr ?? ""}`);
    },
  );
}

/** Makes a CA and a server certificate signed by it under `dir` with the `openssl` CLI. */
export async function createTlsMaterial(dir: string): Promise<TlsMaterial> {
  const bin = findOnPath("openssl");
  if (!bin) {
    throw new Error(
      "`tls: true` needs the openssl command to make test certificates; install it (Debian: `apt-get install -y openssl`).",
    );
  }
  mkdirSync(dir, { recursive: true });
  const config = join(dir, "openssl.cnf");
  writeFileSync(config, OPENSSL_CONFIG);
  const files = {
    caFile: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    certFile: join(dir, "server.crt"),
    keyFile: join(dir, "server.key"),
  };
  const common = ["-x509", "-config", config, ...NEW_KEY, ...DAYS];
  await openssl(bin, [
    "req",
    ...common,
    "-extensions",
    "ca",
    "-subj",
    "/CN=connect-redis-ha test CA",
    "-keyout",
    files.caKey,
    "-out",
    files.caFile,
  ]);
  // `req -x509 -CA` (OpenSSL 3) signs the new key's certificate in one step, no CSR file.
  await openssl(bin, [
    "req",
    ...common,
    "-extensions",
    "server",
    "-CA",
    files.caFile,
    "-CAkey",
    files.caKey,
    "-subj",
    "/CN=localhost",
    "-keyout",
    files.keyFile,
    "-out",
    files.certFile,
  ]);
  return {
    ca: readFileSync(files.caFile, "utf8"),
    caFile: files.caFile,
    certFile: files.certFile,
    keyFile: files.keyFile,
  };
}
