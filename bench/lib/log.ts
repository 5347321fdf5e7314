/** Progress lines on stderr, stamped with the time since the benchmark started; the table goes to stdout. */
const started = performance.now();

export function progress(message: string): void {
  const seconds = Math.floor((performance.now() - started) / 1000);
  const stamp = `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  process.stderr.write(`[bench ${stamp}] ${message}\n`);
}
