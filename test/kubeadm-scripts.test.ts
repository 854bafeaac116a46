// The kubeadm node scripts, run by bash against stand-in apt-get, apt-mark, dnf, kubeadm, systemctl and
// etcdctl (test/fixture/node-bin) that record their calls: the order, the exact versions, hold and unhold,
// and that running again after a failure half-way completes.

import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { REMOTE_INTERPRETER } from "../components/kubeadm/cluster";
import { buildRemoteScript, REMOTE_SCRIPT_PARAMS, type RemoteScriptKind } from "../components/scripts";
import { ROOT } from "../tools/harness";

interface Node {
    state: string;
    root: string;
    calls(): string[];
    version(pkg: string): string | undefined;
    held(pkg: string): boolean;
}

function node(packageManager: "apt" | "dnf", installed = "1.30.6"): Node {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-node-"));
    const root = path.join(state, "root");
    fs.mkdirSync(path.join(root, "etc/apt/sources.list.d"), { recursive: true });
    fs.mkdirSync(path.join(root, "etc/yum.repos.d"), { recursive: true });
    fs.writeFileSync(
        path.join(root, "etc/apt/sources.list.d/kubernetes.list"),
        "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.30/deb/ /\n",
    );
    fs.writeFileSync(
        path.join(root, "etc/yum.repos.d/kubernetes.repo"),
        "[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/\nenabled=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v1.30/rpm/repodata/repomd.xml.key\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n",
    );
    for (const p of ["kubeadm", "kubelet", "kubectl"]) {
        fs.writeFileSync(path.join(state, `version-${p}`), installed);
        if (packageManager === "apt") fs.writeFileSync(path.join(state, `held-${p}`), "");
    }
    fs.writeFileSync(path.join(state, "calls"), "");
    return {
        state,
        root,
        calls: () => fs.readFileSync(path.join(state, "calls"), "utf8").trim().split("\n").filter(Boolean),
        version: (pkg) =>
            fs.existsSync(path.join(state, `version-${pkg}`))
                ? fs.readFileSync(path.join(state, `version-${pkg}`), "utf8")
                : undefined,
        held: (pkg) => fs.existsSync(path.join(state, `held-${pkg}`)),
    };
}

const NODE_BIN = path.join(ROOT, "test", "fixture", "node-bin");
/** A folder with the node's stand-in tools, leaving out those a node lacks. */
function toolsDir(n: Node, without: string[]): string {
    const dir = path.join(n.state, "bin");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir);
    const standIns = fs.readdirSync(NODE_BIN).filter((t) => fs.lstatSync(path.join(NODE_BIN, t)).isSymbolicLink());
    for (const tool of standIns.filter((t) => !without.includes(t)))
        fs.symlinkSync(path.join(NODE_BIN, "record"), path.join(dir, tool));
    return dir;
}

/** Runs a node script the way the program sends it: `bash -s` (the remote command) under /bin/sh, the script on stdin. */
function run(
    n: Node,
    kind: RemoteScriptKind,
    params: Record<string, string>,
    without: string[] = ["etcdutl", "crictl"],
): { code: number; stderr: string; stdout: string } {
    const given = Object.fromEntries(REMOTE_SCRIPT_PARAMS[kind].map((k) => [k, params[k]]));
    const r = spawnSync("sh", ["-c", REMOTE_INTERPRETER], {
        input: buildRemoteScript(kind, given),
        encoding: "utf8",
        env: {
            PATH: `${toolsDir(n, without)}:/usr/bin:/bin`,
            STANDIN_STATE: n.state,
            K8SU_ROOT: n.root,
            HOME: n.state,
        },
    });
    return { code: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

/** apt-get as the node scripts call it: a changed configuration file is kept, never asked about. */
const APT = "apt-get -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";

const minor = { K8SU_TARGET_VERSION: "1.31.4", K8SU_PACKAGE_MANAGER: "apt", K8SU_SWITCH_REPOSITORY: "true" };

test("first control plane node (apt): repository to v1.31, kubeadm unheld, installed at exactly 1.31.4, held, then upgrade plan and apply", () => {
    const n = node("apt");
    const r = run(n, "kubeadm-control-plane", { ...minor, K8SU_FIRST: "true" });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(n.calls(), [
        "apt-mark unhold kubeadm",
        `${APT} update -q`,
        `${APT} install -y -q --allow-change-held-packages kubeadm=1.31.4-*`,
        "apt-mark hold kubeadm",
        "kubeadm version -o short",
        "kubeadm upgrade plan v1.31.4",
        "kubeadm upgrade apply v1.31.4 --yes",
    ]);
    assert.match(
        fs.readFileSync(path.join(n.root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"),
        /pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/deb\//,
    );
    assert.equal(n.version("kubeadm"), "1.31.4");
    assert.equal(n.held("kubeadm"), true);
    assert.equal(n.version("kubelet"), "1.30.6", "the kubelet waits for its own drained step");
});

test("other control plane nodes run `kubeadm upgrade node`, never apply", () => {
    const n = node("apt");
    const r = run(n, "kubeadm-control-plane", { ...minor, K8SU_FIRST: "false" });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(n.calls().includes("kubeadm upgrade node"));
    assert.ok(!n.calls().some((c) => c.startsWith("kubeadm upgrade apply") || c.startsWith("kubeadm upgrade plan")));
    // What the step's log says when it is done (a survivor of the script mutation runner dropped that line).
    assert.match(r.stderr, new RegExp(`control plane on ${os.hostname()} upgraded to 1\\.31\\.4`));
});

test("a worker (dnf): repository, kubeadm, kubeadm upgrade node, kubelet and kubectl, daemon-reload, kubelet restart, in that order", () => {
    const n = node("dnf");
    const r = run(n, "kubeadm-kubelet", { ...minor, K8SU_PACKAGE_MANAGER: "dnf", K8SU_ROLE: "worker" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /kubelet restarted/);
    assert.deepEqual(n.calls(), [
        "dnf install -y kubeadm-1.31.4-* --disableexcludes=kubernetes",
        "kubeadm upgrade node",
        "dnf install -y kubelet-1.31.4-* kubectl-1.31.4-* --disableexcludes=kubernetes",
        "systemctl daemon-reload",
        "systemctl restart kubelet",
    ]);
    const repo = fs.readFileSync(path.join(n.root, "etc/yum.repos.d/kubernetes.repo"), "utf8");
    assert.match(repo, /baseurl=https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/rpm\//);
    assert.match(repo, /gpgkey=https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.31\/rpm\/repodata/);
    assert.deepEqual(["kubeadm", "kubelet", "kubectl"].map(n.version), ["1.31.4", "1.31.4", "1.31.4"]);
});

test("a control plane node's kubelet step upgrades kubelet and kubectl only, held again", () => {
    const n = node("apt");
    const r = run(n, "kubeadm-kubelet", { ...minor, K8SU_ROLE: "control-plane" });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(n.calls(), [
        "apt-mark unhold kubelet kubectl",
        `${APT} update -q`,
        `${APT} install -y -q --allow-change-held-packages kubelet=1.31.4-* kubectl=1.31.4-*`,
        "apt-mark hold kubelet kubectl",
        "systemctl daemon-reload",
        "systemctl restart kubelet",
    ]);
    assert.equal(n.held("kubelet") && n.held("kubectl"), true);
});

test("a child that reads stdin cannot swallow the rest of a script streamed to `bash -s`: the steps after it still run", () => {
    for (const [tool, kind, params] of [
        ["kubeadm", "kubeadm-kubelet", { ...minor, K8SU_ROLE: "worker" }],
        ["apt-get", "kubeadm-kubelet", { ...minor, K8SU_ROLE: "control-plane" }],
        ["etcdctl", "kubeadm-etcd-snapshot", { K8SU_TARGET_VERSION: "1.31.4", K8SU_SNAPSHOT_DIR: "/var/backups/etcd" }],
    ] as const) {
        const n = node("apt");
        fs.writeFileSync(path.join(n.state, `read-stdin-${tool}`), "");
        const r = run(n, kind, params);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(fs.readFileSync(path.join(n.state, `read-stdin-${tool}`), "utf8"), "", `${tool} read the script`);
        if (kind === "kubeadm-kubelet") {
            assert.equal(n.calls().at(-1), "systemctl restart kubelet", `${tool}: the script ran to its end`);
            assert.match(r.stderr, /kubelet restarted/);
        } else assert.match(r.stderr, /etcd snapshot saved and verified/);
    }
});

test("apt installs without a question: a configuration file changed on the node is kept (DEBIAN_FRONTEND=noninteractive, --force-confold)", () => {
    const n = node("apt");
    fs.writeFileSync(path.join(n.state, "conffile-prompt"), "");
    const r = run(n, "kubeadm-kubelet", { ...minor, K8SU_ROLE: "worker" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(n.state, "prompted")), false, "dpkg asked about a configuration file");
    assert.doesNotMatch(r.stderr, /conffile prompt/);
    assert.deepEqual(["kubeadm", "kubelet", "kubectl"].map(n.version), ["1.31.4", "1.31.4", "1.31.4"]);
    assert.equal(n.calls().at(-1), "systemctl restart kubelet");
});

test("a patch upgrade leaves the package repository alone", () => {
    const n = node("apt", "1.31.2");
    const before = fs.readFileSync(path.join(n.root, "etc/apt/sources.list.d/kubernetes.list"), "utf8");
    const r = run(n, "kubeadm-control-plane", { ...minor, K8SU_SWITCH_REPOSITORY: "false", K8SU_FIRST: "true" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(n.root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"), before);
});

test("the kubeadm installed-version check: a kubeadm that still reports the old version stops the step before any upgrade", () => {
    for (const first of ["true", "false"]) {
        const n = node("apt");
        fs.writeFileSync(path.join(n.state, "kubeadm-reports"), "v1.30.6\n");
        const r = run(n, "kubeadm-control-plane", { ...minor, K8SU_FIRST: first });
        assert.notEqual(r.code, 0, `K8SU_FIRST=${first}: a kubeadm at the old version must not upgrade the node`);
        assert.match(r.stderr, /kubeadm reports v1\.30\.6 after installing 1\.31\.4/);
        assert.ok(!n.calls().some((c) => c.startsWith("kubeadm upgrade")), n.calls().join("\n"));
    }
    const close = node("apt");
    fs.writeFileSync(path.join(close.state, "kubeadm-reports"), "v1.31.40\n");
    assert.notEqual(
        run(close, "kubeadm-control-plane", { ...minor, K8SU_FIRST: "true" }).code,
        0,
        "1.31.40 is not 1.31.4",
    );
});

test("a failure in the middle stops the step; running it again completes it", () => {
    const n = node("apt");
    fs.writeFileSync(path.join(n.state, "fail-once-kubeadm-upgrade-apply"), "");
    const failed = run(n, "kubeadm-control-plane", { ...minor, K8SU_FIRST: "true" });
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /injected failure/);
    assert.equal(n.held("kubeadm"), true, "the package is held again before the upgrade runs");
    const again = run(n, "kubeadm-control-plane", { ...minor, K8SU_FIRST: "true" });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(n.calls().filter((c) => c === "kubeadm upgrade apply v1.31.4 --yes").length, 2);
    assert.match(
        fs.readFileSync(path.join(n.root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"),
        /v1\.31\/deb/,
        "switching the repository twice is harmless",
    );
    assert.doesNotMatch(
        fs.readFileSync(path.join(n.root, "etc/apt/sources.list.d/kubernetes.list"), "utf8"),
        /v1\.31\.31/,
    );
});

test("etcd before 3.6 without etcdutl: the snapshot gets a dated name and is verified with etcdctl before the control plane moves", () => {
    const n = node("apt");
    const dir = path.join(n.state, "backups");
    const r = run(n, "kubeadm-etcd-snapshot", { K8SU_TARGET_VERSION: "1.31.4", K8SU_SNAPSHOT_DIR: dir });
    assert.equal(r.code, 0, r.stderr);
    const snapshot = r.stdout.trim();
    assert.match(snapshot, new RegExp(`^${dir}/etcd-before-v1\\.31\\.4-\\d{8}T\\d{6}Z\\.db$`));
    assert.ok(fs.existsSync(snapshot));
    const calls = n.calls().filter((c) => c !== "etcdctl version");
    assert.match(
        calls[0],
        new RegExp(
            `^etcdctl snapshot save ${snapshot} --endpoints=https://127\\.0\\.0\\.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca\\.crt`,
        ),
    );
    assert.equal(calls[1], `etcdctl snapshot status ${snapshot} --write-out=table`);
    fs.writeFileSync(path.join(n.state, "fail-once-etcdctl-snapshot-status"), "");
    const unverified = run(n, "kubeadm-etcd-snapshot", { K8SU_TARGET_VERSION: "1.31.4", K8SU_SNAPSHOT_DIR: dir });
    assert.equal(unverified.code, 1);
    assert.match(unverified.stderr, /does not verify/);
});

test("the remote command is bash reading stdin: a login shell such as dash cannot run the scripts themselves", () => {
    const script = buildRemoteScript("kubeadm-kubelet", { ...minor, K8SU_ROLE: "worker" });
    const asCommand = spawnSync("dash", ["-c", script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    assert.notEqual(asCommand.status, 0, "dash rejects the bash script given as the command");
    const n = node("apt");
    const r = run(n, "kubeadm-kubelet", { ...minor, K8SU_ROLE: "worker" });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(n.version("kubelet"), "1.31.4");
});

const snapshotParams = (n: Node) => ({
    K8SU_TARGET_VERSION: "1.31.4",
    K8SU_SNAPSHOT_DIR: path.join(n.state, "backups"),
});

test("etcd 3.6: etcdctl takes the snapshot and etcdutl verifies it (etcdctl snapshot status is gone)", () => {
    const n = node("apt");
    fs.writeFileSync(path.join(n.state, "etcd-version"), "3.6.1");
    const r = run(n, "kubeadm-etcd-snapshot", snapshotParams(n), ["crictl"]);
    assert.equal(r.code, 0, r.stderr);
    const snapshot = r.stdout.trim();
    assert.deepEqual(
        n.calls().map((c) => c.split(" ").slice(0, 3).join(" ")),
        ["etcdctl snapshot save", "etcdutl snapshot status"],
    );
    assert.ok(fs.existsSync(snapshot));
});

test("etcd 3.6 without etcdutl: refused, naming the node and how to get etcdutl", () => {
    const n = node("apt");
    fs.writeFileSync(path.join(n.state, "etcd-version"), "3.6.1");
    const r = run(n, "kubeadm-etcd-snapshot", snapshotParams(n), ["crictl", "etcdutl"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`on node ${os.hostname()} cannot be verified: etcdctl there is 3\\.6 or newer`));
    assert.match(r.stderr, /github\.com\/etcd-io\/etcd\/releases/);
});

test("no etcdctl on the node: the snapshot runs inside the etcd static pod with crictl exec, then moves to the snapshot folder", () => {
    const n = node("apt");
    fs.writeFileSync(path.join(n.state, "etcd-container"), "4f2a9c\n");
    const r = run(n, "kubeadm-etcd-snapshot", snapshotParams(n), ["etcdctl", "etcdutl"]);
    assert.equal(r.code, 0, r.stderr);
    const snapshot = r.stdout.trim();
    assert.ok(fs.existsSync(snapshot), "moved out of the etcd data directory");
    const calls = n.calls();
    assert.match(calls[1], /^crictl exec 4f2a9c etcdctl snapshot save \/var\/lib\/etcd\/etcd-before-v1\.31\.4-/);
    assert.match(calls[2], /^crictl exec 4f2a9c etcdutl snapshot status \/var\/lib\/etcd\//);
});

test("neither etcdctl nor crictl: refused, naming the node rather than the machine running pulumi", () => {
    const n = node("apt");
    const r = run(n, "kubeadm-etcd-snapshot", snapshotParams(n), ["etcdctl", "etcdutl", "crictl"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`etcdctl is not installed on node ${os.hostname()}, and crictl is not there`));
    assert.doesNotMatch(r.stderr, /machine running pulumi/);
});
