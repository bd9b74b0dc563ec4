import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { requestSpanParent } from './incoming';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const headers = { traceparent: `00-${TRACE}-${SPAN}-01`, baggage: 'tenant=globex' };

describe('requestSpanParent', () => {
  test('honour: the client span is the parent', () => {
    const { parent, links } = requestSpanParent('honour', headers);
    expect(trace.getSpanContext(parent)).toMatchObject({ traceId: TRACE, spanId: SPAN, isRemote: true });
    expect(links).toBeUndefined();
    // Baggage is not extracted: only the trace context propagator is used (and no global one is registered here).
    expect(propagation.getBaggage(parent)).toBeUndefined();
  });

  test('link: a new root, linked to the client span', () => {
    const { parent, links } = requestSpanParent('link', headers);
    expect(parent).toBe(ROOT_CONTEXT);
    expect(links).toEqual([{ context: expect.objectContaining({ traceId: TRACE, spanId: SPAN }) }]);
  });

  test('ignore: a new root and nothing of the client', () => {
    expect(requestSpanParent('ignore', headers)).toEqual({ parent: ROOT_CONTEXT });
  });

  test('no or malformed traceparent: a new root whatever the policy', () => {
    for (const policy of ['honour', 'link', 'ignore'] as const) {
      expect(requestSpanParent(policy, {})).toEqual({ parent: ROOT_CONTEXT });
      expect(requestSpanParent(policy, { traceparent: 'garbage' })).toEqual({ parent: ROOT_CONTEXT });
      expect(requestSpanParent(policy, { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` })).toEqual({
        parent: ROOT_CONTEXT,
      });
    }
  });
});
