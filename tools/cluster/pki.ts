// The certificates and tokens of a local test control plane: a CA, the apiserver's serving certificate for
// 127.0.0.1, the service-account signing key pair, and a static token file (kube-apiserver --token-auth-file).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Pki {
    dir: string;
    caCert: string;
    caKey: string;
    serverCert: string;
    serverKey: string;
    saKey: string;
    saPub: string;
    tokenFile: string;
    /**
     * Bearer tokens by user: admin, the controller-manager and kwok (system:masters: the controllers run with the
     * controller-manager's own credentials), and the scheduler (its bootstrap RBAC role).
     */
    tokens: Record<"admin" | "controllerManager" | "scheduler" | "kwok", string>;
}

function openssl(args: string[], cwd: string): void {
    try {
        execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
    } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? String(err);
        throw new Error(`openssl ${args[0]} failed in ${cwd}: ${stderr.trim()}`);
    }
}

function token(): string {
    return randomBytes(24).toString("hex");
}

/** The static token file (token,user,uid,"groups"), 0600; returns the tokens. */
function writeTokens(file: string): Pki["tokens"] {
    const tokens = { admin: token(), controllerManager: token(), scheduler: token(), kwok: token() };
    // token,user,uid,"groups"
    const lines = [
        `${tokens.admin},k8su-admin,k8su-admin,"system:masters"`,
        `${tokens.controllerManager},system:kube-controller-manager,system:kube-controller-manager,"system:masters"`,
        `${tokens.scheduler},system:kube-scheduler,system:kube-scheduler`,
        `${tokens.kwok},k8su-kwok,k8su-kwok,"system:masters"`,
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
    return tokens;
}

/** The CA, the apiserver's serving certificate for 127.0.0.1 and the service-account key pair. */
function makeCertificates(dir: string): void {
    const steps = [
        "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=k8s-upgrades-test-ca",
        "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver",
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile server.ext",
        "genrsa -out sa.key 2048",
        "rsa -in sa.key -pubout -out sa.pub",
    ];
    fs.writeFileSync(
        path.join(dir, "server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default\nextendedKeyUsage=serverAuth\n",
    );
    for (const step of steps) openssl(step.split(" "), dir);
}

/** Writes a new PKI into `dir` (created 0700; keys 0600). */
export function makePki(dir: string): Pki {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    makeCertificates(dir);
    const tokens = writeTokens(path.join(dir, "tokens.csv"));
    for (const f of ["ca.key", "server.key", "sa.key"]) fs.chmodSync(path.join(dir, f), 0o600);
    const at = (f: string) => path.join(dir, f);
    return {
        dir,
        caCert: at("ca.crt"),
        caKey: at("ca.key"),
        serverCert: at("server.crt"),
        serverKey: at("server.key"),
        saKey: at("sa.key"),
        saPub: at("sa.pub"),
        tokenFile: at("tokens.csv"),
        tokens,
    };
}

/** A kubeconfig for `server` that authenticates with a bearer token (written 0600). */
export function writeKubeconfig(file: string, server: string, caCert: string, user: string, bearer: string): string {
    const text = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: k8su-test",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority: ${caCert}`,
        "users:",
        `- name: ${user}`,
        "  user:",
        `    token: "${bearer}"`,
        "contexts:",
        "- name: k8su-test",
        "  context:",
        "    cluster: k8su-test",
        `    user: ${user}`,
        "current-context: k8su-test",
        "",
    ].join("\n");
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
}
