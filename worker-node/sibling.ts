// Paths to modules beside the running one. From the repository they are .ts
// files (run with tsx); from the installed package, the .js files tsc wrote,
// and a path in a string is not rewritten by tsc the way an import is.
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The file of module `name` (no extension) beside the module at `moduleUrl`, in that module's own language. */
export function siblingModule(moduleUrl: string, name: string): string {
  const self = fileURLToPath(moduleUrl);
  return join(dirname(self), `${name}${extname(self)}`);
}
