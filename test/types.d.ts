// Types for the test-only packages that ship none.
declare module "parse-prometheus-text-format" {
  /** Metric families: name, help, type (COUNTER, GAUGE, HISTOGRAM, …) and samples with their labels. */
  export default function parse(text: string): { name: string; type: string; metrics: unknown[] }[];
}
