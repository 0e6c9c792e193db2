// The Docker image's /app, made in the build stage from the packed tarball:
// a manifest that depends on that tarball, and a lockfile that pins its
// runtime dependencies to exactly the versions package-lock.json pins, so
// that the final stage's `npm ci` installs what the tests ran against and two
// builds of one commit are the same. The tree is the repository's own without
// its devDependencies: the package's dependencies are hoisted to the same
// node_modules/<name> paths whether it is the root or node_modules/edgeq.
//   tsx tools/image-lock.ts <edgeq.tgz> <out dir>
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

interface LockEntry {
  version?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

const TARBALL = "edgeq.tgz";

/** The image's manifest and lockfile, from the repository's and the tarball's bytes. */
function imageLock(
  manifest: { name: string; version: string; dependencies: Record<string, string>; [field: string]: unknown },
  lock: { packages: Record<string, LockEntry>; [field: string]: unknown },
  tarball: Buffer,
) {
  const app = { name: "edgeq-image", private: true, dependencies: { [manifest.name]: `file:${TARBALL}` } };
  const packages: Record<string, LockEntry> = { "": app };
  packages[`node_modules/${manifest.name}`] = {
    version: manifest.version,
    resolved: `file:${TARBALL}`,
    integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
    license: manifest.license,
    dependencies: manifest.dependencies,
    bin: manifest.bin,
    engines: manifest.engines,
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === "" || entry.dev) continue;
    packages[path] = entry;
  }
  return { manifest: app, lock: { ...lock, name: app.name, packages } };
}

const [tarballPath, out] = process.argv.slice(2);
if (!tarballPath || !out) {
  console.error("usage: tsx tools/image-lock.ts <edgeq.tgz> <out dir>");
  process.exit(2);
}
const read = async (file: string) => JSON.parse(await readFile(file, "utf8"));
const { manifest, lock } = imageLock(
  await read("package.json"),
  await read("package-lock.json"),
  await readFile(tarballPath),
);
await mkdir(out, { recursive: true });
await writeFile(join(out, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
await writeFile(join(out, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
await copyFile(tarballPath, join(out, TARBALL));
