import { createServer } from 'node:net';
import { once } from 'node:events';

/**
 * A port nothing listens on, from below Linux's ephemeral range (32768+): a port released after
 * `listen(0)` is soon handed to another test's `listen(0)`, one picked here is not.
 */
export async function unusedPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    server.close();
    await once(server, 'close');
    return port;
  }
}
