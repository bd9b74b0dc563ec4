import { readTracingSettings } from './settings';

function read(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const settings = readTracingSettings(env, 'tollgate-gateway', problems);
  return { settings, problems };
}

describe('readTracingSettings', () => {
  test('off unless an exporter is named', () => {
    expect(read({})).toEqual({ settings: undefined, problems: [] });
    expect(read({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_SERVICE_NAME: 'x' }).settings).toBeUndefined();
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces; the traces endpoint is used as it is and wins', () => {
    expect(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).settings).toEqual({
      exporter: 'otlp',
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'tollgate-gateway',
      sampler: 'parentbased_always_on',
      ratio: 1,
      incoming: 'honour',
      apolloSpans: false,
    });
    expect(
      read({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/custom',
      }).settings?.endpoint,
    ).toBe('https://traces.example/custom');
  });

  test('the standard sampler, service name and the incoming-context policy', () => {
    const { settings, problems } = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
      OTEL_SERVICE_NAME: 'edge-gateway',
      TRACE_INCOMING_CONTEXT: 'link',
      TRACE_APOLLO_SPANS: 'true',
    });
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({
      apolloSpans: true,
      sampler: 'parentbased_traceidratio',
      ratio: 0.1,
      serviceName: 'edge-gateway',
      incoming: 'link',
    });
  });

  test('TOLLGATE_TRACES=console needs no endpoint; off, OTEL_SDK_DISABLED and OTEL_TRACES_EXPORTER=none win', () => {
    expect(read({ TOLLGATE_TRACES: 'console' }).settings).toMatchObject({ exporter: 'console' });
    expect(read({ TOLLGATE_TRACES: 'console' }).settings?.endpoint).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(read({ ...endpoint, TOLLGATE_TRACES: 'off' }).settings).toBeUndefined();
    expect(read({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).settings).toBeUndefined();
    expect(read({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).settings).toBeUndefined();
  });

  test('problems name the variable, never its value', () => {
    const { problems } = read({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://user:s3cret@host/',
      OTEL_TRACES_SAMPLER: 'sometimes',
    });
    expect(problems).toEqual(['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL']);
    const more = read({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '1.5',
      TRACE_INCOMING_CONTEXT: 'trust',
      TRACE_APOLLO_SPANS: 'yes',
      TOLLGATE_TRACES: 'otlp',
    }).problems;
    expect(more).toEqual([
      'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
      'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1',
      'TRACE_INCOMING_CONTEXT must be one of honour, link, ignore',
      'TRACE_APOLLO_SPANS must be one of true, false',
    ]);
    expect(read({ TOLLGATE_TRACES: 'loud' }).problems).toEqual(['TOLLGATE_TRACES must be one of otlp, console, off']);
    expect(more.join(' ')).not.toContain('sometimes');
  });
});
