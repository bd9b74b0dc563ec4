import { containsCredential, redactSecrets } from './secret-shapes';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.c2lnbmF0dXJl';
const INTERNAL = 'v1.eyJraW5kIjoib3AiLCJhdWQiOiJhY2NvdW50cyJ9.abcdefghijklmnopqrstuvwxyz012345';

/** What the log redaction did with regular expressions before (quadratic on some inputs; fine on small ones). */
const REFERENCE = [
  /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /tg_(live|test)_[A-Za-z0-9_]+/g,
  /\bv1\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/g,
];
const reference = (text: string) => REFERENCE.reduce((out, pattern) => out.replace(pattern, '[redacted]'), text);

/** A small deterministic generator, so a failure names its input and reproduces. */
function* samples(count: number): Generator<string> {
  const atoms = ['eyJ', 'v1', '.', '-', '_', 'a', ' ', '=', 'tg_live_', 'tg_test_', 'x', 'a'.repeat(20), '/', 'é'];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (let n = 0; n < count; n++) {
    let text = '';
    for (let i = 0, length = 1 + (next() % 14); i < length; i++) text += atoms[next() % atoms.length];
    yield text;
  }
}

describe('redactSecrets', () => {
  it.each([
    [`Bearer ${JWT}`, 'Bearer [redacted]'],
    [`a-${JWT}.more`, 'a-[redacted].more'],
    // No word boundary before `eyJ`: the regular expression did not redact it either (nor do we, to stay equal).
    [`x_${JWT}`, `x_${JWT}`],
    ['key tg_live_k1a2b3c4_s3cr3t refused', 'key [redacted] refused'],
    [`token=${INTERNAL}`, 'token=[redacted]'],
    ['v1.2.3', 'v1.2.3'],
  ])('redacts %s as the regular expressions did', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
    expect(redactSecrets(input)).toBe(reference(input));
  });

  it('agrees with the regular expressions on 50 000 generated strings', () => {
    const differing = [...samples(50_000)].filter((text) => redactSecrets(text) !== reference(text));
    expect(differing).toEqual([]);
  });
});

describe('containsCredential', () => {
  const referenceContains = (text: string) => /tg_(?:live|test)_|eyJ[A-Za-z0-9_-]*\.eyJ/.test(text);

  it('finds API keys and JWTs, and nothing else', () => {
    expect(containsCredential(JWT)).toBe(true);
    expect(containsCredential('tg_live_abc')).toBe(true);
    expect(containsCredential('eyJ.notajwt')).toBe(false);
    expect(containsCredential('hello')).toBe(false);
  });

  it('agrees with the regular expression on 50 000 generated strings', () => {
    const differing = [...samples(50_000)].filter((text) => containsCredential(text) !== referenceContains(text));
    expect(differing).toEqual([]);
  });
});

describe('on hostile input', () => {
  it('spends linear time where the regular expressions spent seconds', () => {
    // The JWT pattern took 3 s on "eyJ-"×25 000; the URL check 3.7 s on "eyJ"×33 000.
    const inputs = [
      'eyJ-'.repeat(50_000),
      'eyJ'.repeat(66_000),
      `${'v1.'.repeat(30_000)}`,
      '-eyJa.'.repeat(30_000),
      '.eyJ'.repeat(50_000),
    ];
    const started = process.cpuUsage();
    for (const input of inputs) {
      redactSecrets(input);
      containsCredential(input);
    }
    const { user, system } = process.cpuUsage(started);
    expect((user + system) / 1000).toBeLessThan(250);
  });
});
