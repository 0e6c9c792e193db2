import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    /** The REST gateway the workerd tests talk to, e.g. http://127.0.0.1:41234. */
    gatewayUrl: string;
    gatewayToken: string;
  }
}
