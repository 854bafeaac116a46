// k8s-upgrades: a Kubernetes upgrade is a change of kubernetesVersion in Pulumi.<stack>.yaml.
// The program lives in components/program.ts so that tests and the offline plan run the same code.
import { main } from "./components/program";

export = main;
