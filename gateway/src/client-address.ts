/**
 * The client a request counts against for the failed-authentication limiter: the TCP peer's address. The gateway
 * has no trusted-proxy setting (Express's `trust proxy` is off), so `X-Forwarded-For` is never read — anyone can
 * write it. Behind a load balancer every client then shares the balancer's address; such a deployment should put
 * the limit at the balancer or add a trusted-proxy setting first (README, "Failed authentication").
 *
 * An IPv6 client usually holds a whole /64 (one address per request costs it nothing), so IPv6 addresses count by
 * their /64 prefix; an IPv4-mapped IPv6 address counts as its IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function clientKeyOf(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(address)) return address;
  const withoutZone = address.split('%')[0]!;
  if (!isIPv6(withoutZone)) return 'unknown';
  return `${ipv6Groups(withoutZone).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string): string[] => {
    if (part === '') return [];
    const groups: string[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        // An embedded IPv4 address fills the last two groups.
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        groups.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
      } else groups.push(piece);
    }
    return groups;
  };
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  const zeros = Array<string>(Math.max(0, 8 - first.length - last.length)).fill('0');
  return [...first, ...zeros, ...last].map((group) => parseInt(group, 16).toString(16));
}
