import { connect } from 'node:net';

/** True when a TCP connection to host:port opens within `timeoutMs`. */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Splits `host:port` (IPv6 in brackets allowed); the port defaults to 7233. */
export function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(address.trim());
  const host = match?.[1] || 'localhost';
  return { host, port: match?.[2] ? Number(match[2]) : 7233 };
}
