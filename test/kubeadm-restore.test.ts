// The kubeadm etcd restore (components/scripts/kubeadm-etcd-restore.sh and `npm run restore`), run by bash against
// the stand-in node tools of the kubeadm tests (test/fixture/node-bin): a control plane node upgraded from 1.30.6 to
// 1.31.4, with the snapshot taken before and kubeadm's manifest backup, put back to 1.30.6.

import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import * as YAML from "yaml";
import { REMOTE_INTERPRETER } from "../components/kubeadm/cluster";
import { buildRemoteScript } from "../components/scripts";
import { UsageError } from "../tools/cli";
import { ROOT } from "../tools/harness";
import { planRestore, type RestoreOptions } from "../tools/restore";

/** apt-get install as the node scripts call it: a changed configuration file is kept, never asked about. */
const APT_INSTALL = "apt-get -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install";
const NODE_BIN = path.join(ROOT, "test", "fixture", "node-bin");
const SNAPSHOT = "/var/backups/etcd/etcd-before-v1.31.4-20261122T041500Z.db";
const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"];
const BACKUP = "etc/kubernetes/tmp/kubeadm-backup-manifests-2026-11-22-04-16-02";

function manifest(component: string, version: string): string {
    const image =
        component === "etcd"
            ? `registry.k8s.io/etcd:${version === "1.31.4" ? "3.5.15-0" : "3.5.12-0"}`
            : `registry.k8s.io/${component}:v${version}`;
    const flags =
        component === "etcd"
            ? [
                  "--data-dir=/var/lib/etcd",
                  "--name=cp-1",
                  "--initial-advertise-peer-urls=https://10.0.0.11:2380",
                  "--initial-cluster=cp-1=https://10.0.0.11:2380",
              ]
            : [];
    return [
        "apiVersion: v1",
        "kind: Pod",
        `metadata:\n  name: ${component}\n  namespace: kube-system`,
        "spec:",
        "  containers:",
        "  - command:",
        `    - ${component}`,
        ...flags.map((f) => `    - ${f}`),
        `    image: ${image}`,
        "",
    ].join("\n");
}

interface Node {
    state: string;
    root: string;
    file(rel: string): string | undefined;
    calls(): string[];
}

/** A control plane node after the upgrade to 1.31.4: packages, manifests, etcd data, the snapshot, kubeadm's backup. */
function upgradedNode(): Node {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-restore-"));
    const root = path.join(state, "root");
    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), text);
    };
    write(
        "etc/apt/sources.list.d/kubernetes.list",
        "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.31/deb/ /\n",
    );
    for (const c of COMPONENTS) {
        write(`etc/kubernetes/manifests/${c}.yaml`, manifest(c, "1.31.4"));
        write(`${BACKUP}/${c}.yaml`, manifest(c, "1.30.6"));
    }
    // A later backup, from running the upgrade again at the same version: not the one to restore.
    write(
        "etc/kubernetes/tmp/kubeadm-backup-manifests-2026-11-22-05-00-00/kube-apiserver.yaml",
        manifest("kube-apiserver", "1.31.4"),
    );
    write("etc/kubernetes/tmp/kubeadm-backup-etcd-2026-11-22-04-16-02/etcd/member/snap/db", "kubeadm's own copy");
    write("etc/kubernetes/admin.conf", "apiVersion: v1\nkind: Config\n");
    write("var/lib/etcd/member/snap/db", "data written after the upgrade");
    write(SNAPSHOT, "data as it was before the upgrade");
    for (const p of ["kubeadm", "kubelet", "kubectl"]) {
        fs.writeFileSync(path.join(state, `version-${p}`), "1.31.4");
        fs.writeFileSync(path.join(state, `held-${p}`), "");
    }
    fs.writeFileSync(path.join(state, "static-pods"), "");
    fs.writeFileSync(path.join(state, "calls"), "");
    return {
        state,
        root,
        file: (rel) =>
            fs.existsSync(path.join(root, rel)) ? fs.readFileSync(path.join(root, rel), "utf8") : undefined,
        calls: () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n").filter(Boolean),
    };
}

function standInPath(n: Node): string {
    const bin = path.join(n.state, "bin");
    if (fs.existsSync(bin)) return `${bin}:/usr/bin:/bin`;
    fs.mkdirSync(bin);
    for (const t of fs.readdirSync(NODE_BIN).filter((f) => fs.lstatSync(path.join(NODE_BIN, f)).isSymbolicLink()))
        fs.symlinkSync(path.join(NODE_BIN, "record"), path.join(bin, t));
    // ssh that runs the remote command here, so `npm run restore` reaches the stand-in node; it keeps its arguments.
    fs.writeFileSync(
        path.join(bin, "ssh"),
        '#!/usr/bin/env bash\nprintf \'%s\\n\' "$@" > "$STANDIN_STATE/ssh-args"\nfor last in "$@"; do :; done\nexec sh -c "$last"\n',
        { mode: 0o755 },
    );
    return `${bin}:/usr/bin:/bin`;
}

function env(n: Node, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        PATH: standInPath(n),
        STANDIN_STATE: n.state,
        K8SU_ROOT: n.root,
        HOME: n.state,
        K8SU_POLL_SECONDS: "0.1",
        ...extra,
    };
}

const PARAMS = {
    K8SU_SNAPSHOT: SNAPSHOT,
    K8SU_TARGET_VERSION: "1.30.6",
    K8SU_PACKAGE_MANAGER: "apt",
    K8SU_SWITCH_REPOSITORY: "true",
    K8SU_NODE_NAME: "cp-1",
    K8SU_TIMEOUT_SECONDS: "20",
};

/** The script as the restore command sends it: `bash -s` with the script on stdin. */
function runScript(n: Node, params: Partial<typeof PARAMS> = {}) {
    const r = spawnSync("sh", ["-c", REMOTE_INTERPRETER], {
        input: buildRemoteScript("kubeadm-etcd-restore", { ...PARAMS, ...params }),
        encoding: "utf8",
        env: env(n),
        timeout: 60_000,
    });
    return { code: r.status ?? -1, stderr: r.stderr };
}

function writeStack(dir: string, clusters: Array<{ provider: string }>): void {
    const secrets = clusters.some((c) => c.provider === "kubeadm")
        ? { "k8s-upgrades:sshPrivateKey": { secure: "AAABAKtt" }, "k8s-upgrades:kubeconfig": { secure: "AAABAKuu" } }
        : {};
    fs.writeFileSync(
        path.join(dir, "Pulumi.onprem.yaml"),
        YAML.stringify({ config: { "k8s-upgrades:clusters": clusters, ...secrets } }),
    );
}

const kubeadmCluster = (controlPlaneNodes = [{ name: "cp-1", host: "10.0.0.11" }], etcd = {}) => ({
    name: "onprem",
    provider: "kubeadm",
    kubernetesVersion: "1.31.4",
    kubeadm: {
        controlPlaneNodes,
        workerNodes: [{ name: "w-1", host: "10.0.1.1" }],
        ssh: { user: "ops", port: 2222 },
        packageManager: "apt",
        etcd,
    },
    nodePools: [{ name: "workers", count: 1, type: "bare-metal" }],
    workers: { strategy: "in-place" },
});

function restoreCommand(n: Node, args: string[], clusters: Array<{ provider: string }> = [kubeadmCluster()]) {
    const dir = path.join(n.state, "stack");
    fs.mkdirSync(dir, { recursive: true });
    writeStack(dir, clusters);
    const r = spawnSync(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, "tools/restore.ts"), "onprem", "--stack-dir", dir, ...args],
        { cwd: ROOT, encoding: "utf8", env: { ...env(n), PATH: `${env(n).PATH}:${path.dirname(process.execPath)}` } },
    );
    return { code: r.status ?? -1, stderr: r.stderr };
}

const RESTORE_ARGS = ["--cluster", "onprem", "--snapshot", SNAPSHOT, "--version", "1.30.6", "--timeout", "20"];

function assertUntouched(n: Node): void {
    assert.equal(n.file("var/lib/etcd/member/snap/db"), "data written after the upgrade", "the data directory stays");
    for (const c of COMPONENTS)
        assert.equal(n.file(`etc/kubernetes/manifests/${c}.yaml`), manifest(c, "1.31.4"), `${c}.yaml is back in place`);
    assert.equal(fs.readFileSync(path.join(n.state, "version-kubelet"), "utf8"), "1.31.4", "no package moved");
    const etcParent = fs.readdirSync(path.join(n.root, "var/lib"));
    assert.deepEqual(etcParent, ["etcd"], "no restored data directory is left behind");
}

test("npm run restore: stops the control plane, restores the snapshot to a new data directory, swaps it in keeping the old one, packages and manifests back at 1.30.6, kubelet restarted, API server and node waited for", () => {
    const n = upgradedNode();
    const r = restoreCommand(n, [...RESTORE_ARGS, "--confirm", "onprem"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(n.file("var/lib/etcd/member/snap/db"), "data as it was before the upgrade");
    const kept = fs.readdirSync(path.join(n.root, "var/lib")).filter((d) => d.startsWith("etcd.before-restore-"));
    assert.equal(kept.length, 1, "the data directory from before is kept beside it");
    assert.equal(n.file(`var/lib/${kept[0]}/member/snap/db`), "data written after the upgrade");
    for (const c of COMPONENTS)
        assert.equal(n.file(`etc/kubernetes/manifests/${c}.yaml`), manifest(c, "1.30.6"), `${c}.yaml of 1.30.6`);
    for (const p of ["kubeadm", "kubelet", "kubectl"]) {
        assert.equal(fs.readFileSync(path.join(n.state, `version-${p}`), "utf8"), "1.30.6", p);
        assert.ok(fs.existsSync(path.join(n.state, `held-${p}`)), `${p} held again`);
    }
    assert.match(n.file("etc/apt/sources.list.d/kubernetes.list")!, /core:\/stable:\/v1\.30\/deb\//);
    const calls = n.calls().map((c) => c.replaceAll(n.root, ""));
    const at = (prefix: string) => {
        const i = calls.findIndex((c) => c.startsWith(prefix));
        assert.notEqual(i, -1, `${prefix} in\n${calls.join("\n")}`);
        return i;
    };
    assert.ok(
        at("etcdutl snapshot status") < at("crictl ps --name ^kube-apiserver$"),
        "verified before anything stops",
    );
    assert.match(
        calls[at("etcdutl snapshot restore")],
        /^etcdutl snapshot restore \/var\/backups\/etcd\/etcd-before-v1\.31\.4-20261122T041500Z\.db --data-dir \/var\/lib\/etcd\.restored-\d{8}T\d{6}Z --name cp-1 --initial-cluster cp-1=https:\/\/10\.0\.0\.11:2380 --initial-advertise-peer-urls https:\/\/10\.0\.0\.11:2380$/,
    );
    assert.ok(at("etcdutl snapshot restore") < at(APT_INSTALL));
    assert.ok(at(APT_INSTALL) < at("systemctl restart kubelet"));
    assert.ok(at("systemctl restart kubelet") < at("kubectl"));
    assert.equal(
        calls[at(APT_INSTALL)],
        `${APT_INSTALL} -y -q --allow-change-held-packages kubeadm=1.30.6-* kubelet=1.30.6-* kubectl=1.30.6-*`,
    );
    const ssh = fs.readFileSync(path.join(n.state, "ssh-args"), "utf8").trim().split("\n");
    assert.deepEqual(ssh.slice(-2), ["ops@10.0.0.11", "bash -s"], "the script goes on stdin");
    assert.ok(ssh.includes("2222") && ssh.includes("BatchMode=yes"), ssh.join(" "));
    assert.match(r.stderr, /set kubernetesVersion of onprem to 1\.30\.6/);
});

test("without --confirm naming the cluster nothing runs: the steps are printed and the command refuses", () => {
    const n = upgradedNode();
    for (const confirm of [[], ["--confirm", "other"]]) {
        const r = restoreCommand(n, [...RESTORE_ARGS, ...confirm]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /nothing ran: .* Run again with --confirm onprem/);
        assert.match(r.stderr, /etcdutl snapshot restore into a new data directory/);
        assert.match(r.stderr, /restore of cluster onprem:\n {2}- lost: every write to the cluster since the snapshot/);
    }
    assert.equal(fs.existsSync(path.join(n.state, "ssh-args")), false, "no SSH connection");
    assert.deepEqual(n.calls(), []);
});

test("refused before any connection: a managed control plane, external etcd, several control plane nodes, a version the snapshot rules out", () => {
    const n = upgradedNode();
    const lke = {
        name: "onprem",
        provider: "lke",
        kubernetesVersion: "1.31",
        lke: { region: "us-ord" },
        nodePools: [{ name: "web", count: 3, type: "g6-standard-2" }],
        workers: { strategy: "blue-green" },
    };
    const two = [
        { name: "cp-1", host: "10.0.0.11" },
        { name: "cp-2", host: "10.0.0.12" },
    ];
    const base = { cluster: "onprem", snapshot: SNAPSHOT, version: "1.30.6" };
    const cases: Array<[Partial<RestoreOptions>, Array<{ provider: string }>, RegExp, boolean]> = [
        [{}, [lke], /provider lke: a managed control plane \(LKE, EKS, AKS, GKE\) cannot be downgraded/, false],
        [{}, [kubeadmCluster(undefined, { external: true })], /kubeadm\.etcd\.external: true/, false],
        [{}, [kubeadmCluster(two)], /has 2 control plane nodes: restoring a stacked etcd of several members/, false],
        [
            { version: "1.31.4" },
            [kubeadmCluster()],
            /before the upgrade to 1\.31\.4; .* older version then, not 1\.31\.4/,
            false,
        ],
        [{ version: "1.29.9" }, [kubeadmCluster()], /ran 1\.30\.x or 1\.31\.x then, not 1\.29\.9/, false],
        [{ version: "1.30" }, [kubeadmCluster()], /full version/, true],
        // An unknown cluster is a usage error (exit 2), as in every command.
        [{ cluster: "nope" }, [kubeadmCluster()], /--cluster nope: stack onprem has no such cluster/, true],
        [{ snapshot: "etcd.db" }, [kubeadmCluster()], /absolute path/, true],
    ];
    const dir = path.join(n.state, "stack");
    fs.mkdirSync(dir);
    for (const [given, clusters, message, usage] of cases) {
        writeStack(dir, clusters);
        assert.throws(
            () => planRestore({ stack: "onprem", stackDir: dir, ...base, ...given }),
            (err: Error) => message.test(err.message) && err instanceof UsageError === usage,
            String(message),
        );
    }
    writeStack(dir, [kubeadmCluster()]);
    assert.equal(planRestore({ stack: "onprem", stackDir: dir, ...base }).node.host, "10.0.0.11");
    const usage = restoreCommand(n, ["--cluster", "onprem", "--snapshot", SNAPSHOT, "--version", "1.30"]);
    assert.equal(usage.code, 2, usage.stderr);
    assert.equal(fs.existsSync(path.join(n.state, "ssh-args")), false, "no SSH connection");
});

test("a missing snapshot is refused on the node before anything changes", () => {
    const n = upgradedNode();
    const r = runScript(n, { K8SU_SNAPSHOT: "/var/backups/etcd/etcd-before-v1.31.4-20261101T000000Z.db" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no snapshot at \/var\/backups\/etcd\/etcd-before-v1\.31\.4-20261101T000000Z\.db on node/);
    assertUntouched(n);
    assert.ok(!n.calls().some((c) => c.startsWith("crictl") || c.startsWith("apt-get")), n.calls().join("\n"));
});

test("a deadline that is not a whole number of seconds is refused on the node before anything changes", () => {
    const n = upgradedNode();
    const r = runScript(n, { K8SU_TIMEOUT_SECONDS: "10m" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /K8SU_TIMEOUT_SECONDS/);
    assertUntouched(n);
    assert.ok(!n.calls().some((c) => c.startsWith("crictl") || c.startsWith("apt-get")), n.calls().join("\n"));
});

test("no manifest backup of the version to return to: refused before anything changes, naming the backups found", () => {
    const n = upgradedNode();
    fs.rmSync(path.join(n.root, BACKUP), { recursive: true });
    const r = runScript(n);
    assert.equal(r.code, 1);
    assert.match(
        r.stderr,
        /no kubeadm manifest backup of v1\.30\.6 .*kubeadm-backup-manifests-2026-11-22-05-00-00 \(kube-apiserver 1\.31\.4\)/,
    );
    assertUntouched(n);
});

test("a failed restore leaves the old data directory in place and puts the control plane back as it was", () => {
    const n = upgradedNode();
    fs.writeFileSync(path.join(n.state, "fail-once-etcdutl-snapshot-restore"), "");
    const r = runScript(n);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /etcdutl snapshot restore failed on node/);
    assert.match(r.stderr, /the control plane manifests are back/);
    assertUntouched(n);
});

test("a hung restore is stopped at its deadline; the old data directory and the manifests stay", () => {
    const n = upgradedNode();
    fs.writeFileSync(path.join(n.state, "hang-restore"), "");
    const started = Date.now();
    const r = runScript(n, { K8SU_TIMEOUT_SECONDS: "2" });
    assert.equal(r.code, 1);
    assert.ok(Date.now() - started < 30_000, "bounded by the deadline");
    assert.match(r.stderr, /etcdutl snapshot restore did not finish within 2s/);
    assertUntouched(n);
});

test("an API server container that never stops: the restore gives up at the deadline before touching etcd's data", () => {
    const n = upgradedNode();
    fs.writeFileSync(path.join(n.state, "stuck-kube-apiserver"), "");
    const r = runScript(n, { K8SU_TIMEOUT_SECONDS: "1" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kube-apiserver not gone within 1s/);
    assert.ok(!n.calls().some((c) => c.includes("snapshot restore")));
    assertUntouched(n);
});

test("an API server that never answers after the restart fails at the deadline, saying where the data from before is", () => {
    const n = upgradedNode();
    fs.writeFileSync(path.join(n.state, "apiserver-down"), "");
    const r = runScript(n, { K8SU_TIMEOUT_SECONDS: "2" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the API server is not ready: The connection to the server was refused, after 2s/);
    assert.match(r.stderr, /the data from before in \/var\/lib\/etcd\.before-restore-/);
});

test("kubelets still newer than the restored API server are named: the skew policy forbids them", () => {
    const n = upgradedNode();
    fs.writeFileSync(path.join(n.state, "other-nodes"), "w-1\tv1.31.4\nw-2\tv1.30.6\n");
    const r = runScript(n);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /kubelets are newer than the API server, which the skew policy forbids: w-1 \(v1\.31\.4\);/);
    assert.doesNotMatch(r.stderr, /w-2/);
    assert.equal(n.file("var/lib/etcd/member/snap/db"), "data as it was before the upgrade");
});

test("the script says every write since the snapshot is lost, before it stops anything", () => {
    const n = upgradedNode();
    const r = runScript(n);
    assert.equal(r.code, 0, r.stderr);
    const lost = r.stderr.indexOf("every write to the cluster since the snapshot was taken is lost");
    assert.notEqual(lost, -1, r.stderr);
    assert.ok(lost < r.stderr.indexOf("control plane manifests moved"), r.stderr);
});

test("etcd itself is asked how many members it has: several are refused before anything changes, whatever the stack says", () => {
    const n = upgradedNode();
    fs.writeFileSync(
        path.join(n.state, "etcd-members"),
        [
            "8e9e05c52164694d, started, cp-1, https://10.0.0.11:2380, https://10.0.0.11:2379, false",
            "91bc3c398fb3c146, started, cp-2, https://10.0.0.12:2380, https://10.0.0.12:2379, false",
            "fd422379fda50e48, started, cp-3, https://10.0.0.13:2380, https://10.0.0.13:2379, false",
        ].join("\n"),
    );
    const r = runScript(n);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
        r.stderr,
        /etcd on node .* has 3 members \(cp-1 cp-2 cp-3\): restoring one member's snapshot would split/,
    );
    assert.ok(
        n.calls().some((c) => c.startsWith("etcdctl member list")),
        n.calls().join("\n"),
    );
    assert.ok(!n.calls().some((c) => c.startsWith("crictl") || c.startsWith("apt-get")), n.calls().join("\n"));
    assertUntouched(n);
    // etcd that cannot answer is no answer: refused too.
    const down = upgradedNode();
    fs.writeFileSync(path.join(down.state, "fail-once-etcdctl-member"), "");
    const d = runScript(down);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /etcdctl member list failed on node .*nothing was changed/);
    assertUntouched(down);
});

test("HUP while the control plane is stopped (the SSH connection dropped): the manifests go back", async () => {
    for (const signal of ["SIGHUP", "SIGTERM"] as const) {
        const n = upgradedNode();
        // The API server never stops, so the script waits with the manifests moved aside.
        fs.writeFileSync(path.join(n.state, "stuck-kube-apiserver"), "");
        const child = spawn("bash", ["-s"], { env: env(n), stdio: ["pipe", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => {
            stderr += d;
        });
        child.stdin.end(buildRemoteScript("kubeadm-etcd-restore", { ...PARAMS, K8SU_TIMEOUT_SECONDS: "600" }));
        let ended = false;
        const done = new Promise<number | null>((resolve) =>
            child.on("close", (code) => {
                ended = true;
                resolve(code);
            }),
        );
        // Driven by what the script has done, not by time: it signals once the manifests are aside.
        while (!/waiting for the containers to stop/.test(stderr)) {
            assert.equal(ended, false, `the script ended before it stopped the control plane:\n${stderr}`);
            await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(n.file("etc/kubernetes/manifests/kube-apiserver.yaml"), undefined, "moved aside");
        child.kill(signal);
        const code = await done;
        assert.notEqual(code, 0, `${signal}: ${stderr}`);
        assert.match(stderr, /the control plane manifests are back/, signal);
        assertUntouched(n);
    }
});
