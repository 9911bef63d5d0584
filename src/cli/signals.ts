/**
 * Resolves with the first SIGTERM or SIGINT; services then shut down in order. With
 * FIBER_EXIT_WITH_PARENT=1 (set by `fiber demo` for its children) it also resolves, as SIGINT,
 * when the parent process is gone, so a demo killed with SIGKILL leaves no shard or worker behind.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      clearInterval(timer);
      resolve(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
    if (process.env.FIBER_EXIT_WITH_PARENT === '1') {
      // An orphan is re-parented (to init or a subreaper): its ppid changes.
      const parent = process.ppid;
      timer = setInterval(() => { if (process.ppid !== parent) on('SIGINT'); }, 1000);
      timer.unref();
    }
  });
}
