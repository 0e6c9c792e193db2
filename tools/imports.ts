// Which way imports may point between the rooms, checked by `npm run lint`.
// Within a room, Biome's noImportCycles (biome.json, type imports counted)
// keeps imports pointing one way; between rooms the rule is a direction:
//   - shared/ is the contract both sides build on, so it imports neither;
//   - edge/ and worker-node/ do not import each other: each deploys without
//     the other (the edge on Workers, the worker on Node). `npm run dev` runs
//     the edge as a process of its own (wrangler dev), so it needs no import
//     either; what both read (EDGE_PORT) is in shared/settings.ts.
// One import crosses, named in CROSSINGS: the bin's `edgeq edge` runs the
// edge's Node server in its own process, after the OTLP export the worker has
// (worker-node/tracing.ts), which edge/ may not import; the edge's Node server
// deploys in the package beside the bin in any case.
// And inside shared/, no module imports the shared/index.ts barrel: it is the
// package's face for its users, and importing it from within would tie every
// module to all the others.
import { dirname, join, normalize } from "node:path/posix";
import ts from "typescript";

const ROOMS = ["shared", "edge", "worker-node"] as const;
type Room = (typeof ROOMS)[number];

/** The rooms each room may not import. */
const FORBIDDEN: Record<Room, readonly Room[]> = {
  shared: ["edge", "worker-node"],
  edge: ["worker-node"],
  "worker-node": ["edge"],
};

const BARREL = "shared/index.ts";

/** The imports allowed across the rooms all the same, importer to imported. */
const CROSSINGS: Record<string, string> = { "worker-node/cli/edge.ts": "edge/node-server.ts" };

function roomOf(file: string): Room | undefined {
  return ROOMS.find((room) => file.startsWith(`${room}/`));
}

/**
 * Every relative import of a file (static, type-only, re-exports and dynamic
 * import() alike), as a path from the repository's root.
 */
export function importsOf(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => normalize(join(dirname(file), specifier)));
}

/** One message per import that points the wrong way; `read` gives a file's text. */
export function importDirectionProblems(files: string[], read: (file: string) => string): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const room = roomOf(file);
    if (!room || !/\.tsx?$/.test(file)) continue;
    for (const target of importsOf(file, read(file))) {
      const targetRoom = roomOf(target);
      if (targetRoom && FORBIDDEN[room].includes(targetRoom) && CROSSINGS[file] !== target) {
        problems.push(`${file} imports ${target}: ${room}/ may not import ${targetRoom}/`);
      }
      if (room === "shared" && target === BARREL) {
        problems.push(`${file} imports ${BARREL}: inside shared/, import the module that defines the name`);
      }
    }
  }
  return problems;
}
