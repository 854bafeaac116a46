// The package as a user installs it: `npm pack` of this project, unpacked into a copy of examples/lke-and-eks, and
// that program run under the Pulumi mock runtime. The k8s-upgrades code comes from the tarball (compiled JS and
// declarations); only the third-party dependencies are linked from this checkout's node_modules, as an offline install.
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type { Capture } from "../tools/capture-types";
import { ROOT, runProgram } from "../tools/harness";
import { resource } from "./helpers";

const EXAMPLE = path.join(ROOT, "examples", "lke-and-eks");
let work: string;
let app: string;
let tarball: string;

/**
 * Installs the tarball into `dir` offline: its files from the tarball, its dependencies linked from this checkout,
 * all but the packages in `without` (as a program that does not install them).
 */
function installTarball(tgz: string, dir: string, without: ReadonlySet<string> = new Set()): void {
    const modules = path.join(dir, "node_modules");
    fs.mkdirSync(modules, { recursive: true });
    execFileSync("tar", ["-xzf", tgz, "-C", modules]);
    fs.renameSync(path.join(modules, "package"), path.join(modules, "k8s-upgrades"));
    const link = (name: string) => {
        if (name === "k8s-upgrades" || without.has(name)) return;
        fs.symlinkSync(path.join(ROOT, "node_modules", name), path.join(modules, name));
    };
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        if (entry.startsWith(".")) continue;
        if (!entry.startsWith("@")) link(entry);
        else {
            fs.mkdirSync(path.join(modules, entry));
            for (const scoped of fs.readdirSync(path.join(ROOT, "node_modules", entry))) link(`${entry}/${scoped}`);
        }
    }
}

/** Runs the TypeScript compiler over a program's folder, with its own tsconfig.json and the options given. */
function typeCheck(dir: string, options: string[]): { status: number | null; output: string } {
    const tsc = spawnSync(
        process.execPath,
        [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", dir, ...options],
        { cwd: dir, encoding: "utf8" },
    );
    return { status: tsc.status, output: `${tsc.stdout}${tsc.stderr}` };
}

before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "k8su-pack-"));
    const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", work], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    })
        .trim()
        .split("\n")
        .pop();
    tarball = path.join(work, String(name));
    app = path.join(work, "app");
    fs.cpSync(EXAMPLE, app, { recursive: true });
    installTarball(tarball, app);
    // The example's own program, run the way the Pulumi CLI runs it: its module's exports are the stack outputs.
    fs.writeFileSync(
        path.join(app, "main.ts"),
        'export async function main(): Promise<Record<string, unknown>> {\n    return { ...(await import("./index")) };\n}\n',
    );
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

function run(config: Record<string, unknown>, previous?: Record<string, unknown>): Promise<Capture> {
    return runProgram({ program: path.join(app, "main.ts"), stack: "dev", config, previous });
}

describe("the packed library", () => {
    it("ships compiled JavaScript, declarations and the step scripts, and no TypeScript sources or tests", () => {
        const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
        const pkg = JSON.parse(fs.readFileSync(path.join(app, "node_modules", "k8s-upgrades", "package.json"), "utf8"));
        assert.equal(pkg.private, undefined);
        assert.equal(pkg.exports["."].types, "./dist/components/index.d.ts");
        for (const f of [
            "package/dist/components/index.js",
            "package/dist/components/index.d.ts",
            "package/dist/components/api/clusters.d.ts",
            "package/dist/components/scripts/run.sh",
            "package/dist/components/scripts/drain.sh",
        ])
            assert.ok(listing.includes(f), `${f} is in the tarball`);
        assert.deepEqual(
            listing.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f.startsWith("package/test/")),
            [],
        );
        // Each provider's class is declared by its own entry point, each entry point's files are in the tarball.
        const classes: Record<string, string> = {
            lke: "LkeCluster",
            eks: "EksCluster",
            kubeadm: "KubeadmCluster",
            "capi-aws": "CapiAwsCluster",
            aks: "AksCluster",
            gke: "GkeCluster",
        };
        for (const [entry, cls] of Object.entries(classes)) {
            const target = pkg.exports[`./${entry}`];
            assert.ok(listing.includes(`package/${target.default.slice(2)}`), `${target.default} is in the tarball`);
            assert.deepEqual(pkg.typesVersions["*"][entry], [target.types.slice(2)]);
            const declarations = fs.readFileSync(path.join(app, "node_modules/k8s-upgrades", target.types), "utf8");
            assert.match(declarations, new RegExp(`\\b${cls}\\b`), `${entry} declares ${cls}`);
        }
        // The config program's way in (a stack-wide decision) is not part of the package's declarations.
        const shared = fs.readFileSync(
            path.join(app, "node_modules/k8s-upgrades/dist/components/api/clusters.d.ts"),
            "utf8",
        );
        assert.doesNotMatch(shared, /readonly registered/);
        for (const entry of Object.keys(classes)) {
            const library = path.join(app, `node_modules/k8s-upgrades/dist/components/${entry}/library.d.ts`);
            assert.doesNotMatch(fs.readFileSync(library, "utf8"), /args: Decided</, library);
        }
    });

    it("the example plans under mocks from the tarball: both clusters, their pools, the running record", async () => {
        const first = await run({ kubernetesVersion: "1.31", firstDeployment: true });
        assert.equal(first.error, undefined, first.log);
        const lke = resource(first, "web", "k8s-upgrades:lke:Cluster");
        const eks = resource(first, "api", "k8s-upgrades:eks:Cluster");
        assert.equal(resource(first, "web", "linode:index/lkeCluster:LkeCluster").inputs.k8sVersion, "1.31");
        assert.equal(resource(first, "api", "aws:eks/cluster:Cluster").inputs.version, "1.31");
        const pools = first.resources.filter(
            (r) => r.type === "linode:index/lkeNodePool:LkeNodePool" || r.type === "aws:eks/nodeGroup:NodeGroup",
        );
        assert.deepEqual(
            pools.map((p) => [p.type, p.parent]),
            [
                ["linode:index/lkeNodePool:LkeNodePool", lke.urn],
                ["aws:eks/nodeGroup:NodeGroup", eks.urn],
            ],
        );
        // The steps run the scripts shipped in the package, not this checkout's.
        const steps = first.resources.filter((r) => r.type === "command:local:Command");
        assert.ok(steps.length > 0);
        for (const s of steps)
            assert.match(String(s.inputs.create), /node_modules\/k8s-upgrades\/dist\/components\/scripts\/run\.sh /);
        const record = first.stackOutputs?.k8sUpgrades as { clusters: Record<string, { controlPlaneVersion: string }> };
        assert.deepEqual(Object.keys(record.clusters).sort(), ["api", "web"]);
        assert.equal(record.clusters.web.controlPlaneVersion, "1.31");
        assert.ok(first.stackOutputSecretPaths.includes("webKubeconfig"));

        // The upgrade is one line: the record read back, the control planes move one minor, workers blue-green.
        const second = await run({ kubernetesVersion: "1.32" }, first.stackOutputs);
        assert.equal(second.error, undefined, second.log);
        assert.ok(second.resources.some((r) => r.name === "web-control-plane"));
        assert.equal(resource(second, "api", "aws:eks/cluster:Cluster").inputs.version, "1.32");
        const nodeGroups = (c: Capture) =>
            c.resources.filter((r) => r.type === "aws:eks/nodeGroup:NodeGroup").map((r) => r.name);
        assert.deepEqual(nodeGroups(first), ["api-general-1-31"]);
        // The blue node group leaves the program: drained by a step of this deployment before the engine deletes it.
        assert.deepEqual(nodeGroups(second), ["api-general-1-32"]);

        // Two minors at once is refused, as through the config program.
        const skip = await run({ kubernetesVersion: "1.33" }, first.stackOutputs);
        assert.ok(!skip.resources.some((r) => r.type === "k8s-upgrades:lke:Cluster"));
        assert.match(skip.error ?? "", /must not skip minors/);
    });

    it("an LKE-only program installs no other provider's SDK, type-checks and plans from the tarball", async () => {
        const lkeOnly = path.join(work, "lke-only");
        fs.cpSync(path.join(ROOT, "examples", "lke"), lkeOnly, { recursive: true });
        const others = ["@pulumi/aws", "@pulumi/azure-native", "@pulumi/gcp", "@pulumi/kubernetes"];
        installTarball(tarball, lkeOnly, new Set(others));
        for (const sdk of others)
            assert.ok(!fs.existsSync(path.join(lkeOnly, "node_modules", sdk)), `${sdk} is absent`);
        // The declarations resolve through typesVersions (moduleResolution node, the example's own tsconfig) and
        // through exports (nodenext, what Pulumi's TypeScript runtime uses), with the libraries' own types checked.
        for (const options of [
            ["--skipLibCheck", "false"],
            ["--skipLibCheck", "false", "--module", "nodenext", "--moduleResolution", "nodenext"],
        ]) {
            const checked = typeCheck(lkeOnly, options);
            assert.equal(checked.status, 0, `tsc ${options.join(" ")}:\n${checked.output}`);
        }
        fs.writeFileSync(
            path.join(lkeOnly, "main.ts"),
            'export async function main(): Promise<Record<string, unknown>> {\n    return { ...(await import("./index")) };\n}\n',
        );
        const first = await runProgram({
            program: path.join(lkeOnly, "main.ts"),
            stack: "dev",
            config: { kubernetesVersion: "1.31", firstDeployment: true },
        });
        assert.equal(first.error, undefined, first.log);
        assert.equal(resource(first, "web", "linode:index/lkeCluster:LkeCluster").inputs.k8sVersion, "1.31");
        const record = first.stackOutputs?.k8sUpgrades as { clusters: Record<string, unknown> } | undefined;
        assert.deepEqual(Object.keys(record?.clusters ?? {}), ["web"]);
    });
});
