// The k8s-upgrades policy pack: `pulumi preview --policy-pack policy`. Only constructs the pack;
// the policies live in rules.ts so tests and the offline plan can import them.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("k8s-upgrades", { policies });
