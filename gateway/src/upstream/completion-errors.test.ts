import { GraphQLError } from 'graphql';
import { createLogger } from '../../../common/logger';
import { clientResult } from './completion-errors';

const lines: Record<string, unknown>[] = [];
const logger = createLogger({ sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });

/** What @apollo/gateway 2.14's executeQueryPlan returns when shaping the answer nulled a non-null field. */
function completionFailure(path: (string | number)[]) {
  return new GraphQLError('Cannot return null for non-nullable field Product.name.', {
    path,
    extensions: { code: 'INVALID_GRAPHQL' },
  });
}

describe('clientResult', () => {
  beforeEach(() => lines.splice(0));

  it('turns each valueCompletion error into DOWNSTREAM_SERVICE_ERROR at its path and drops the extension', () => {
    const result = clientResult(
      {
        data: { adjustStock: null },
        extensions: { valueCompletion: [completionFailure(['adjustStock', 'name']), completionFailure(['other'])] },
      },
      logger,
      'req-1',
    );
    expect(result.extensions).toBeUndefined();
    expect(result.data).toEqual({ adjustStock: null });
    expect(
      result.errors?.map((error) => ({ message: error.message, path: error.path, extensions: error.extensions })),
    ).toEqual([
      {
        message: 'A downstream service failed',
        path: ['adjustStock', 'name'],
        extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
      },
      { message: 'A downstream service failed', path: ['other'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } },
    ]);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'subgraph data did not complete against the schema', requestId: 'req-1' }),
    ]);
  });

  it('keeps errors already there and drops any other executor extension', () => {
    const existing = new GraphQLError('boom', { extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' } });
    const result = clientResult(
      { data: null, errors: [existing], extensions: { somethingInternal: 1 } },
      logger,
      undefined,
    );
    expect(result).toEqual({ data: null, errors: [existing] });
    expect(lines).toEqual([]);
  });

  it('leaves a result without extensions as it is', () => {
    const plain = { data: { a: 1 } };
    expect(clientResult(plain, logger, undefined)).toBe(plain);
  });
});
