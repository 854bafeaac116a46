// The stack's plan exactly as the program decides it: Pulumi.<stack>.yaml read by the offline plan's reader,
// the previous outputs found as `npm run plan` finds them (tools/plan.ts loadOutputs), then planStack.
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig } from "../../components/config";
import { type ClusterPlan, planStack } from "../../components/plan";
import { parseRunningState, RUNNING_STATE_OUTPUT } from "../../components/running";
import { readStackFile } from "../harness";
import { loadOutputs } from "../plan";

export interface LoadedPlan {
    plans: ClusterPlan[];
    /** Where the previous outputs came from. */
    previous: string;
}

/** Throws ConfigError (with every problem) when the stack's config or the plan is refused. */
export function loadStackPlan(stack: string, stackDir: string, previousFile?: string): LoadedPlan {
    const file = readStackFile(stack, stackDir);
    const raw: Record<string, unknown> = {};
    const otherConfig: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(file.config)) {
        if (!key.includes(":")) raw[key] = value;
        else if (key.startsWith(`${CONFIG_NAMESPACE}:`)) raw[key.slice(CONFIG_NAMESPACE.length + 1)] = value;
        else otherConfig[key] = value;
    }
    const secretKeys = file.secretKeys
        .filter((k) => k.startsWith(`${CONFIG_NAMESPACE}:`))
        .map((k) => k.slice(CONFIG_NAMESPACE.length + 1));
    const config = parseStackConfig(stack, raw, { otherConfig, secretKeys });
    const previous = loadOutputs(stack, previousFile, stackDir);
    const running = parseRunningState(previous.outputs?.[RUNNING_STATE_OUTPUT], `stack "${stack}"`);
    const source = config.promotesFrom
        ? {
              stack: config.promotesFrom,
              state: parseRunningState(
                  loadOutputs(config.promotesFrom, undefined, stackDir).outputs?.[RUNNING_STATE_OUTPUT],
                  `stack "${config.promotesFrom}"`,
              ),
          }
        : undefined;
    const { plans, issues } = planStack(config, running, source);
    if (issues.length > 0) throw new ConfigError(issues);
    return { plans, previous: previous.label };
}
