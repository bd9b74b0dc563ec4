import { clientKeyOf } from './client-address';

describe('clientKeyOf', () => {
  it('counts an IPv4 client by its address, also when mapped into IPv6', () => {
    expect(clientKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });

  it('counts an IPv6 client by its /64, however the address is written', () => {
    const key = '2001:db8:0:1::/64';
    expect(clientKeyOf('2001:db8:0:1::1')).toBe(key);
    expect(clientKeyOf('2001:0db8:0000:0001:ffff:1234:5678:9abc')).toBe(key);
    expect(clientKeyOf('2001:db8::1:0:0:0:2')).toBe(key);
    expect(clientKeyOf('2001:db8:0:1::7%eth0')).toBe(key);
    expect(clientKeyOf('2001:db8:0:2::1')).not.toBe(key);
    expect(clientKeyOf('::1')).toBe('0:0:0:0::/64');
    expect(clientKeyOf('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });

  it('has one key for anything that is not an address', () => {
    expect(clientKeyOf(undefined)).toBe('unknown');
    expect(clientKeyOf('')).toBe('unknown');
    expect(clientKeyOf('not-an-ip')).toBe('unknown');
  });
});
