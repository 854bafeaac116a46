// kwok's stages for the test cluster: kwok's own node stages (initialize, heartbeat with lease) and pod stages
// (ready, complete) from the pinned kwok module, with two changes that make pods behave as the scripts meet them
// on a real node:
// - a pod becomes Ready `k8s-upgrades.test/ready-after` (a Go duration, "2s") after it is scheduled, at once
//   without it;
// - a deleted pod goes when its process would have exited: `k8s-upgrades.test/exit-after` after the deletion,
//   or, without that annotation, at its deletionTimestamp, which the apiserver sets to the deletion time plus the
//   grace period (terminationGracePeriodSeconds, or the grace period the deleting client asked for). kwok's own
//   fast stage deletes at once, which would hide every grace period.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, stringify } from "yaml";

export const READY_AFTER = "k8s-upgrades.test/ready-after";
export const EXIT_AFTER = "k8s-upgrades.test/exit-after";

const KWOK_STAGES = [
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
];

type Doc = { metadata: { name: string }; spec: Record<string, unknown> };

function deleteStage(name: string, annotationExists: boolean, from: string): Doc {
    return {
        apiVersion: "kwok.x-k8s.io/v1alpha1",
        kind: "Stage",
        metadata: { name },
        spec: {
            resourceRef: { apiGroup: "v1", kind: "Pod" },
            selector: {
                matchExpressions: [
                    { key: ".metadata.deletionTimestamp", operator: "Exists" },
                    {
                        key: `.metadata.annotations["${EXIT_AFTER}"]`,
                        operator: annotationExists ? "Exists" : "DoesNotExist",
                    },
                ],
            },
            delay: { durationMilliseconds: 0, durationFrom: { expressionFrom: from } },
            next: { delete: true },
        },
    } as Doc;
}

/** The YAML of every stage, read from the kwok module's `kustomize/stage` folder. */
export function kwokStages(stageDir: string): string {
    const docs: Doc[] = [];
    for (const rel of KWOK_STAGES) {
        const file = path.join(stageDir, rel);
        if (!fs.existsSync(file)) throw new Error(`kwok stage ${rel} is missing from ${stageDir}`);
        for (const d of parseAllDocuments(fs.readFileSync(file, "utf8"))) {
            const doc = d.toJS() as Doc | null;
            if (!doc) continue;
            if (doc.metadata.name === "pod-ready") {
                doc.spec.delay = {
                    durationMilliseconds: 0,
                    durationFrom: { expressionFrom: `.metadata.annotations["${READY_AFTER}"]` },
                };
            }
            docs.push(doc);
        }
    }
    docs.push(deleteStage("pod-exit-after", true, `.metadata.annotations["${EXIT_AFTER}"]`));
    docs.push(deleteStage("pod-exit-at-grace", false, ".metadata.deletionTimestamp"));
    return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}
