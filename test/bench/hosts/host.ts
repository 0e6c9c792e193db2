// The shape every bench host shares: report over IPC, and shut down cleanly
// when the bench sends SIGTERM or goes away (the IPC channel closes).
export function report(message: { url: string } | { unavailable: string }): void {
  process.send!(message);
}

export function closeOnExit(close: () => Promise<unknown>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("disconnect", stop);
}
