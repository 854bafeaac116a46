// The workflows pass a workflow linter and keep their security and deployment promises (asserted on their YAML),
// and the plan's Markdown for a sample upgrade matches its golden file.

import * as assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import * as YAML from "yaml";
import { ROOT } from "../tools/harness";
import { toolEnv } from "./fixture/run-tool";
import { runShellcheck } from "./shellcheck-run";

test("every workflow passes action-validator", () => {
    const dir = path.join(ROOT, ".github", "workflows");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
    assert.ok(files.length >= 2);
    for (const f of files) {
        const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "action-validator"), [path.join(dir, f)], {
            encoding: "utf8",
        });
        assert.equal(r.status, 0, `${f}:\n${r.stdout}${r.stderr}`);
    }
});

test("the linter does refuse a broken workflow", () => {
    const broken = path.join(fs.mkdtempSync("/tmp/wf-"), "broken.yml");
    fs.writeFileSync(broken, "name: x\non: [pushh]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step: []\n");
    const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "action-validator"), [broken], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
});

// The golden file's sidecar records the hashes of the plan's inputs (the test-owned stacks under test/fixtures/stacks) and of the golden text itself. A golden file
// that changes by hand, or inputs that change without regenerating it, fail here; UPDATE_GOLDEN=1 rewrites both, so
// a pull request shows whether new Markdown came with new inputs or from a change in the planner itself.
const GOLDEN_INPUTS = ["Pulumi.staging.yaml", "running/staging.json", "running/dev.json"];
const sha256 = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");

function inputHashes(): Record<string, string> {
    const stacks = path.join(ROOT, "test", "fixtures", "stacks");
    return Object.fromEntries(GOLDEN_INPUTS.map((f) => [f, sha256(fs.readFileSync(path.join(stacks, f)))]));
}

test("the staging plan's Markdown matches test/fixtures/plan-staging.md (UPDATE_GOLDEN=1 rewrites it)", async () => {
    const { stdout } = await promisify(execFile)(
        process.execPath,
        [
            "--import",
            "tsx",
            path.join(ROOT, "tools", "plan.ts"),
            "staging",
            "--markdown",
            "--stack-dir",
            path.join(ROOT, "test", "fixtures", "stacks"),
        ],
        { cwd: ROOT, env: toolEnv() },
    );
    const golden = path.join(ROOT, "test", "fixtures", "plan-staging.md");
    const sidecar = `${golden}.sha256.json`;
    if (process.env.UPDATE_GOLDEN === "1") {
        fs.writeFileSync(golden, stdout);
        fs.writeFileSync(sidecar, `${JSON.stringify({ golden: sha256(stdout), inputs: inputHashes() }, null, 2)}\n`);
    }
    const recorded = JSON.parse(fs.readFileSync(sidecar, "utf8")) as {
        golden: string;
        inputs: Record<string, string>;
    };
    const text = fs.readFileSync(golden, "utf8");
    assert.equal(
        sha256(text),
        recorded.golden,
        "plan-staging.md changed without being regenerated from its inputs: run UPDATE_GOLDEN=1 npm test",
    );
    assert.deepEqual(
        inputHashes(),
        recorded.inputs,
        "the plan's inputs changed but plan-staging.md was not regenerated: run UPDATE_GOLDEN=1 npm test",
    );
    assert.equal(stdout, text, "the plan's Markdown changed: review it, then run UPDATE_GOLDEN=1 npm test");
});

test("the golden check fails on a golden file edited by hand", () => {
    const golden = fs.readFileSync(path.join(ROOT, "test", "fixtures", "plan-staging.md"), "utf8");
    const recorded = JSON.parse(
        fs.readFileSync(path.join(ROOT, "test", "fixtures", "plan-staging.md.sha256.json"), "utf8"),
    ) as { golden: string };
    assert.equal(sha256(golden), recorded.golden);
    assert.notEqual(sha256(golden.replace("1.31", "1.32")), recorded.golden);
});

// What the workflows promise, read from their YAML.
interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    if?: string;
}
interface Job {
    environment?: string | { name: string };
    permissions?: Record<string, string>;
    env?: Record<string, string>;
    steps?: Step[];
    uses?: string;
    with?: Record<string, unknown>;
}
interface Workflow {
    on: Record<string, unknown>;
    env?: Record<string, string>;
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
}

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
function workflow(file: string): Workflow {
    return YAML.parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}
function allWorkflows(): Array<[string, Workflow]> {
    return fs
        .readdirSync(WORKFLOWS)
        .filter((f) => f.endsWith(".yml"))
        .map((f) => [f, workflow(f)]);
}
const environmentOf = (job: Job) => (typeof job.environment === "object" ? job.environment.name : job.environment);
const secretsIn = (value: unknown) =>
    [...JSON.stringify(value ?? {}).matchAll(/secrets\.([A-Z_]+)/g)]
        .map((m) => m[1])
        .filter((s) => s !== "GITHUB_TOKEN");
/** A GitHub expression as written in YAML. */
const expr = (e: string) => `\${{ ${e} }}`;
/** A step's script invokes pulumi with one of these subcommands (not merely mentions it). */
const PULUMI_CALL = /^\s*pulumi (up|preview|refresh|stack output)\b/m;
const runs = (job: Job) => (job.steps ?? []).map((s) => s.run ?? "").join("\n");
const uses = (job: Job, action: string) => (job.steps ?? []).filter((s) => s.uses?.startsWith(`${action}@`));

test("no secret at workflow level: every secret is read inside a job bound to a GitHub environment", () => {
    for (const [file, wf] of allWorkflows()) {
        assert.equal(wf.env, undefined, `${file}: workflow-level env`);
        assert.notEqual(wf.permissions?.contents, "write", `${file}: workflow-level write permission`);
        for (const [name, job] of Object.entries(wf.jobs)) {
            assert.ok(!JSON.stringify(job).includes("secrets: inherit"), `${file} ${name}: secrets: inherit`);
            if (secretsIn(job).length > 0)
                assert.ok(
                    environmentOf(job),
                    `${file} ${name} reads ${secretsIn(job).join(", ")} without an environment`,
                );
        }
    }
});

test("AWS through OIDC: a role per environment, id-token permission, no access keys", () => {
    let roles = 0;
    for (const [file, wf] of allWorkflows()) {
        assert.doesNotMatch(JSON.stringify(wf), /aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/, file);
        for (const [name, job] of Object.entries(wf.jobs)) {
            const pulumi = PULUMI_CALL.test(runs(job));
            const aws = uses(job, "aws-actions/configure-aws-credentials");
            if (!pulumi) continue;
            assert.ok(aws.length > 0, `${file} ${name} runs pulumi without AWS credentials`);
            assert.equal(job.permissions?.["id-token"], "write", `${file} ${name}: OIDC needs id-token: write`);
            for (const step of aws) {
                assert.match(String(step.with?.["role-to-assume"]), /^\$\{\{ vars\.AWS_[A-Z_]*ROLE_ARN \}\}$/);
                roles++;
            }
            const steps = job.steps ?? [];
            const firstPulumi = steps.findIndex((s) =>
                /\bpulumi (up|preview|refresh|stack output)\b/.test(s.run ?? ""),
            );
            assert.ok(steps.indexOf(aws[0]) < firstPulumi, `${file} ${name}: credentials after the first pulumi call`);
        }
    }
    assert.ok(roles >= 3);
});

test("Azure and Google Cloud through OIDC beside AWS: every job that runs pulumi can reach AKS and GKE stacks", () => {
    const varRef = (name: RegExp) => new RegExp(`^\\$\\{\\{ vars\\.${name.source} \\}\\}$`);
    let jobs = 0;
    for (const [file, wf] of allWorkflows()) {
        assert.doesNotMatch(
            JSON.stringify(wf),
            /client-secret|AZURE_CLIENT_SECRET|credentials_json/,
            `${file}: a stored key`,
        );
        for (const [name, job] of Object.entries(wf.jobs)) {
            if (!PULUMI_CALL.test(runs(job))) continue;
            jobs++;
            const where = `${file} ${name}`;
            const steps = job.steps ?? [];
            const firstPulumi = steps.findIndex((s) =>
                /\bpulumi (up|preview|refresh|stack output)\b/.test(s.run ?? ""),
            );
            const [aws] = uses(job, "aws-actions/configure-aws-credentials");
            // The deploy jobs take the deploy identities, the preview environments the read-only ones, as for AWS.
            const preview = /PREVIEW/.test(String(aws.with?.["role-to-assume"]));
            const only = (step: Step, variable: string) => {
                // Scoped as the AWS step is (same condition), and only where the environment sets the identity.
                const awsIf = aws.if ? `${aws.if} && ` : "";
                assert.equal(step.if, `${awsIf}vars.${variable} != ''`, `${where}: ${step.uses} runs when ${step.if}`);
                assert.ok(steps.indexOf(step) < firstPulumi, `${where}: ${step.uses} after the first pulumi call`);
                assert.match(String(step.uses), /@v\d+$/, `${where}: ${step.uses} pinned to a major version`);
            };

            const azure = uses(job, "azure/login");
            assert.equal(azure.length, 1, `${where} runs pulumi without azure/login`);
            const clientId = preview ? "AZURE_PREVIEW_CLIENT_ID" : "AZURE_CLIENT_ID";
            assert.match(String(azure[0].with?.["client-id"]), varRef(new RegExp(clientId)), where);
            assert.match(String(azure[0].with?.["tenant-id"]), varRef(/AZURE_TENANT_ID/), where);
            assert.match(String(azure[0].with?.["subscription-id"]), varRef(/AZURE_SUBSCRIPTION_ID/), where);
            only(azure[0], clientId);

            const auth = uses(job, "google-github-actions/auth");
            const gcloud = uses(job, "google-github-actions/setup-gcloud");
            assert.equal(auth.length, 1, `${where} runs pulumi without google-github-actions/auth`);
            assert.equal(gcloud.length, 1, `${where} runs pulumi without google-github-actions/setup-gcloud`);
            const account = preview ? "GCP_PREVIEW_SERVICE_ACCOUNT" : "GCP_SERVICE_ACCOUNT";
            assert.match(
                String(auth[0].with?.workload_identity_provider),
                varRef(/GCP_WORKLOAD_IDENTITY_PROVIDER/),
                where,
            );
            assert.match(String(auth[0].with?.service_account), varRef(new RegExp(account)), where);
            assert.match(String(gcloud[0].with?.install_components), /\bgke-gcloud-auth-plugin\b/, where);
            assert.ok(
                steps.indexOf(auth[0]) < steps.indexOf(gcloud[0]),
                `${where}: gcloud set up before its credentials`,
            );
            only(auth[0], account);
            only(gcloud[0], account);

            assert.equal(job.permissions?.["id-token"], "write", `${where}: OIDC needs id-token: write`);
        }
    }
    assert.ok(jobs >= 3);
});

test("the pull-request workflow: read-only preview credentials, no deploy, one comment per stack updated in place", () => {
    const wf = workflow("pull-request.yml");
    assert.deepEqual(Object.keys(wf.on), ["pull_request"], "never pull_request_target");
    assert.deepEqual(wf.permissions, { contents: "read" });
    for (const [name, job] of Object.entries(wf.jobs)) {
        const env = environmentOf(job);
        if (env) assert.match(env, /-preview$/, `${name} uses the deploy environment ${env}`);
        assert.doesNotMatch(runs(job), /pulumi (up|destroy)|pulumi refresh(?! --preview-only)/, name);
        assert.notEqual(job.permissions?.contents, "write", name);
        for (const step of uses(job, "actions/checkout"))
            assert.equal(step.with?.["persist-credentials"], false, `${name}: checkout keeps the token`);
        for (const step of uses(job, "pulumi/actions"))
            assert.equal(step.with, undefined, `${name}: pulumi/actions comments`);
    }
    const commenters = Object.entries(wf.jobs).filter(([, job]) =>
        JSON.stringify(job).includes("pull-request-comment"),
    );
    assert.equal(commenters.length, 1, "one job comments");
    const [name, comment] = commenters[0];
    assert.deepEqual(comment.permissions, { "pull-requests": "write" }, name);
    assert.equal(uses(comment, "actions/checkout").length, 0, "the commenting job runs no code from the pull request");
    assert.doesNotMatch(runs(comment), /\bnpm\b|\bnode\b/);
    const sticky = uses(comment, "marocchino/sticky-pull-request-comment");
    assert.equal(sticky.length, 1);
    assert.match(String(sticky[0].with?.header), /\$\{\{ matrix\.stack \}\}/, "one comment per stack");
    assert.match(runs(comment), /-lt 65536/);
});

test("deploys: the exact commit, a drift check before up, promotion by pull request, never a push", () => {
    const deploy = workflow("deploy.yml");
    const stack = workflow("deploy-stack.yml");
    for (const [file, wf] of [
        ["deploy.yml", deploy],
        ["deploy-stack.yml", stack],
    ] as const) {
        assert.doesNotMatch(JSON.stringify(wf), /git push|git commit/, `${file} pushes`);
    }
    // Each stack is deployed through the one reusable workflow at a resolved commit.
    for (const name of ["dev", "staging", "prod"]) {
        const job = deploy.jobs[name];
        assert.equal(job.uses, "./.github/workflows/deploy-stack.yml");
        assert.equal(job.with?.stack, name);
    }
    assert.equal(deploy.jobs.dev.with?.sha, expr("github.sha"));
    assert.equal(deploy.jobs.staging.with?.sha, expr("needs.route.outputs.staging-sha"));
    assert.equal(deploy.jobs.prod.with?.sha, expr("needs.route.outputs.prod-sha"));
    assert.match(runs(deploy.jobs.route), /deployed_commit dev/);
    assert.match(runs(deploy.jobs.route), /deployed_commit staging/);

    const up = stack.jobs.up;
    assert.equal(up.environment, expr("inputs.stack"));
    const checkout = uses(up, "actions/checkout");
    assert.equal(checkout.length, 1);
    assert.equal(checkout[0].with?.ref, expr("inputs.sha"), "the program at the commit dev deployed");
    const steps = up.steps ?? [];
    const drift = steps.findIndex((s) => /^\s*pulumi refresh --preview-only/m.test(s.run ?? ""));
    const upStep = steps.findIndex((s) => /^\s*pulumi up\b/m.test(s.run ?? ""));
    assert.ok(drift >= 0 && drift < upStep, "the drift check runs before pulumi up");
    assert.match(steps[drift].run ?? "", /GITHUB_STEP_SUMMARY/, "the drift is shown");
    assert.match(steps[upStep].run ?? "", /--refresh/);
    assert.match(runs(up), /jq --arg sha "\$SHA" '\{commit: \$sha/, "the record names the deployed commit");

    const promotion = stack.jobs["promotion-pull-request"];
    const pr = uses(promotion, "peter-evans/create-pull-request");
    assert.equal(pr.length, 1);
    assert.equal(pr[0].with?.base, "main");
    assert.equal(pr[0].with?.["body-path"], "body.md");
    assert.match(runs(promotion), /npm run --silent plan -- "\$NEXT" .*--drift drift\.txt --markdown/);
    assert.match(runs(promotion), /npm run --silent promote -- "\$NEXT" --source-outputs/);
    assert.match(environmentOf(promotion) ?? "", /-preview/, "promotion reads with preview credentials");
});

test("Node 22 and npm ci --ignore-scripts in every workflow", () => {
    for (const [file, wf] of allWorkflows())
        for (const [name, job] of Object.entries(wf.jobs)) {
            for (const step of uses(job, "actions/setup-node"))
                assert.equal(step.with?.["node-version"], 22, `${file} ${name}`);
            for (const line of runs(job)
                .split("\n")
                .filter((l) => /\bnpm ci\b/.test(l)))
                assert.match(line, /npm ci --ignore-scripts/, `${file} ${name}: ${line}`);
        }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    assert.match(pkg.engines.node, /^>=22\./);
});

test("every workflow script passes shellcheck", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "k8s-upgrades-wf-sh-"));
    const files: string[] = [];
    for (const [file, wf] of allWorkflows())
        for (const [name, job] of Object.entries(wf.jobs))
            for (const [i, step] of (job.steps ?? []).entries()) {
                if (!step.run) continue;
                // A GitHub expression becomes a plain word, as the runner substitutes it before bash reads the script.
                const script = step.run.replace(/\$\{\{[^}]*\}\}/g, "EXPR");
                const out = path.join(dir, `${file}-${name}-${i}.sh`);
                fs.writeFileSync(out, `#!/usr/bin/env bash\n${script}`);
                files.push(out);
            }
    assert.ok(files.length >= 10);
    const r = runShellcheck(["-S", "warning", ...files]);
    assert.equal(r.status, 0, r.stdout);
});
