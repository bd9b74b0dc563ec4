import { GraphQLError } from 'graphql';
import { pendAdmission, type RequestContext } from './request';

const refusal = (code: string) => new GraphQLError(code, { extensions: { code } });

function deferred() {
  let resolve: (value: GraphQLError | undefined) => void = () => undefined;
  const promise = new Promise<GraphQLError | undefined>((r) => (resolve = r));
  return { promise, resolve };
}

describe('pendAdmission', () => {
  it('keeps one stage’s decision as the admission', async () => {
    const request: RequestContext = { requestId: 'r', log: { errorCodes: [] } };
    pendAdmission(request, 'cost', Promise.resolve(refusal('RATE_LIMITED')));
    expect(request.admission?.stage).toBe('cost');
    expect((await request.admission!.decision)?.extensions.code).toBe('RATE_LIMITED');
  });

  it('judges two in stage order: the earlier refusal stands, whichever answers first', async () => {
    const request: RequestContext = { requestId: 'r', log: { errorCodes: [] } };
    const quota = deferred();
    const cost = deferred();
    let overruled = 0;
    pendAdmission(request, 'quota', quota.promise);
    pendAdmission(request, 'cost', cost.promise, () => (overruled += 1));
    cost.resolve(refusal('RATE_LIMITED'));
    quota.resolve(refusal('QUOTA_EXCEEDED'));
    expect((await request.admission!.decision)?.extensions.code).toBe('QUOTA_EXCEEDED');
    expect(request.admission!.stage).toBe('quota');
    expect(overruled).toBe(1);
  });

  it('gives the later stage’s refusal when the earlier admits, and nothing when both do', async () => {
    const refused: RequestContext = { requestId: 'r', log: { errorCodes: [] } };
    pendAdmission(refused, 'quota', Promise.resolve(undefined));
    pendAdmission(refused, 'cost', Promise.resolve(refusal('RATE_LIMITED')), () => {
      throw new Error('not overruled');
    });
    expect((await refused.admission!.decision)?.extensions.code).toBe('RATE_LIMITED');
    expect(refused.admission!.stage).toBe('cost');

    const admitted: RequestContext = { requestId: 'r', log: { errorCodes: [] } };
    pendAdmission(admitted, 'quota', Promise.resolve(undefined));
    pendAdmission(admitted, 'cost', Promise.resolve(undefined));
    expect(await admitted.admission!.decision).toBeUndefined();
  });
});
