/**
 * How a long-running command (`serve`, `view`) ends: on SIGTERM, SIGINT or SIGHUP, and when started by
 * npm (npx), once the npm process that started it is gone. Why the second: npx runs the command through
 * `sh -c` and passes its SIGTERM to that shell only, which dies without passing it on; the server was
 * left running, orphaned. A server started otherwise (nohup, a service manager) is left alone.
 */
export function stopOnSignals(name: string, stop: () => Promise<void> | void): void {
  let stopping = false;
  const once = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`dramatis ${name}: ${why}, stopping\n`);
    // A client that keeps its connection open must not hold the process: stop within 10 s whatever happens.
    setTimeout(() => process.exit(1), 10_000).unref();
    await stop();
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, (s) => void once(s));
  if (process.env.npm_command) {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && void once('the npm process that started it is gone'), 250).unref();
  }
}
