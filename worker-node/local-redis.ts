// What the dev runner and the tests share to run Redis on this machine: a
// free port on loopback, and the flags a private redis-server starts with.
import { once } from "node:events";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A redis-server on loopback keeping its files in `dir`; with AOF when asked (every write synced). */
export function redisServerArgs(port: number, dir: string, appendonly: boolean, logfile = ""): string[] {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--logfile", logfile];
  return [...args, "--appendonly", appendonly ? "yes" : "no", "--appendfsync", appendonly ? "always" : "everysec"];
}
