// The policy pack as a published package: `npm pack` of policy/ (its prepack compiles it to JavaScript),
// installed into an empty directory the way npm installs a tarball (its package/ folder becomes
// node_modules/<name>), with exactly the dependencies its package.json declares linked in from this project's
// node_modules (no registry is needed to resolve them), then loaded by the CLI's policy host from there. A module
// left out of the tarball, a wrong `main`, TypeScript where the host compiles none (ts-node ignores node_modules),
// an import of the program's sources or of an undeclared package fails here.
import * as assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import * as semver from "semver";
import * as YAML from "yaml";
import { ROOT } from "../tools/harness";
import { runProgram } from "./helpers";
import { PACK_DIR, type PolicyHost, startPolicyHost } from "./policy-host";

const run = promisify(execFile);

interface PackageJson {
    name: string;
    version: string;
    private?: boolean;
    main: string;
    files: string[];
    dependencies: Record<string, string>;
}

/** npm pack, then the tarball unpacked into <dir>/node_modules/<name>; returns the installed package's directory. */
async function packAndInstall(dir: string): Promise<string> {
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: PACK_DIR });
    const [{ filename }] = JSON.parse(stdout) as Array<{ filename: string }>;
    await run("tar", ["xzf", path.join(dir, filename), "-C", dir]);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package", "package.json"), "utf8")) as PackageJson;
    const installed = path.join(dir, "node_modules", pkg.name);
    fs.mkdirSync(path.dirname(installed), { recursive: true });
    fs.renameSync(path.join(dir, "package"), installed);
    for (const [dep, range] of Object.entries(pkg.dependencies)) {
        const source = path.join(ROOT, "node_modules", dep);
        const version = (JSON.parse(fs.readFileSync(path.join(source, "package.json"), "utf8")) as PackageJson).version;
        assert.ok(semver.satisfies(version, range), `${dep} ${version} does not satisfy the pack's range ${range}`);
        fs.mkdirSync(path.dirname(path.join(dir, "node_modules", dep)), { recursive: true });
        fs.symlinkSync(source, path.join(dir, "node_modules", dep), "dir");
    }
    return installed;
}

describe("the packed policy pack", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-policy-pack-"));
    let host: PolicyHost | undefined;
    after(async () => {
        await host?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });
    const [installed, capture] = await Promise.all([
        packAndInstall(dir),
        runProgram({
            program: path.join(__dirname, "fixtures", "programs", "raw-eks.ts"),
            stack: "prod",
            config: {
                clusterVersion: "1.31",
                nodeGroups: [
                    { name: "web", version: "1.28" },
                    { name: "canary", version: "1.32" },
                ],
            },
        }),
    ]);
    assert.equal(capture.error, undefined, capture.error);

    test("is a publishable package: not private, compiled to JavaScript with declarations, a PulumiPolicy.yaml", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as PackageJson;
        assert.equal(pkg.private, undefined);
        // The host's ts-node compiles nothing under node_modules: the installed main must be JavaScript.
        assert.equal(require.resolve(installed), path.join(installed, "index.js"));
        const shipped = fs.readdirSync(installed).sort();
        for (const module of [
            "index",
            "rules",
            "clusters",
            "versions",
            "script-header",
            "evaluate",
            "running-versions",
            "command-line",
            "supported-versions",
        ])
            assert.ok(shipped.includes(`${module}.js`) && shipped.includes(`${module}.d.ts`), `${module} is shipped`);
        assert.deepEqual(
            shipped.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
            [],
            "no TypeScript sources",
        );
        const project = YAML.parse(fs.readFileSync(path.join(installed, "PulumiPolicy.yaml"), "utf8"));
        assert.equal(project.runtime, "nodejs");
        // Nothing in the package reaches outside it.
        for (const f of shipped.filter((x) => x.endsWith(".js")))
            assert.doesNotMatch(fs.readFileSync(path.join(installed, f), "utf8"), /require\("\.\.\//, f);
    });

    test("its running-versions command turns a stack export into the policy config", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as PackageJson & {
            bin: Record<string, string>;
        };
        const bin = path.join(installed, pkg.bin["k8s-upgrades-running-versions"]);
        const stackExport = {
            version: 3,
            deployment: {
                resources: [
                    {
                        urn: "urn:pulumi:prod::platform::aws:eks/cluster:Cluster::prod",
                        type: "aws:eks/cluster:Cluster",
                        outputs: { version: "1.30" },
                    },
                ],
            },
        };
        const out = execFileSync(process.execPath, [bin], { input: JSON.stringify(stackExport), encoding: "utf8" });
        assert.deepEqual(JSON.parse(out), {
            "control-plane-one-minor-at-a-time": { runningVersions: { prod: "1.30" } },
        });
        const notAnExport = spawnSync(process.execPath, [bin], { input: "{}", encoding: "utf8" });
        assert.equal(notAnExport.status, 2, "input it cannot use is a usage error");
        assert.match(notAnExport.stderr, /not a `pulumi stack export` document/);
        const unreadable = { deployment: { resources: [{ ...stackExport.deployment.resources[0], outputs: {} }] } };
        const refused = spawnSync(process.execPath, [bin], { input: JSON.stringify(unreadable), encoding: "utf8" });
        assert.equal(refused.status, 1, "a control plane without a readable version is refused");
        assert.match(refused.stderr, /no readable running version/);
        // --help and a misspelt option behave as in every command, from the installed package alone.
        const help = spawnSync(process.execPath, [bin, "--help"], { input: "", encoding: "utf8" });
        assert.equal(help.status, 0, help.stderr);
        assert.match(help.stdout, /^usage: pulumi stack export -s STACK \| k8s-upgrades-running-versions/);
        const misspelt = spawnSync(process.execPath, [bin, "--hlep"], { input: "", encoding: "utf8" });
        assert.equal(misspelt.status, 2);
        assert.match(misspelt.stderr, /unknown option --hlep \(did you mean --help\?\)/);
    });

    test("loads from the install under the CLI's policy host and refuses what it should", async () => {
        host = await startPolicyHost({ packDir: installed, stack: "prod", project: "k8s-upgrades" });
        assert.equal(host.info.getName(), "k8s-upgrades");
        await host.configure({ "control-plane-one-minor-at-a-time": { runningVersions: { prod: "1.29" } } });
        const found = [...(await host.analyze(capture.resources)), ...(await host.analyzeStack(capture.resources))]
            .filter((d) => d.level === "mandatory")
            .map((d) => d.policy)
            .sort();
        assert.deepEqual(found, ["control-plane-one-minor-at-a-time", "kubelet-within-skew-window"]);
    });
});
