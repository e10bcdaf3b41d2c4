import type { RenderOptions } from './helm-render';

/** The API group of the Prometheus Operator's CRDs, as a cluster that has them serves it. */
export const OPERATOR_API = 'monitoring.coreos.com/v1';

/** What more than one replica needs: a shared database and Redis. */
export const CREDENTIALS = [
  'secrets.databaseUrl=postgres://eap:eap@postgres:5432/eap',
  'secrets.redisUrl=redis://redis:6379',
];

/**
 * The value sets the docs describe, each as `helm template` would be given
 * them. Every one must render and every manifest must pass the Kubernetes and
 * Prometheus Operator schemas.
 */
export const CHART_VALUE_SETS: Record<string, RenderOptions> = {
  'the defaults with the credentials more than one replica needs': { set: CREDENTIALS },
  'the one-pod trial, on a cluster without the Prometheus Operator': { set: ['replicaCount=1'] },
  'the one-pod trial, on a cluster with the Prometheus Operator': {
    set: ['replicaCount=1'],
    apiVersions: [OPERATOR_API],
  },
  'production with kube-prometheus-stack, an existing Secret and a Collector': {
    namespace: 'agents',
    set: [
      'image.repository=registry.example.com/enterprise-agent-platform',
      'secrets.existingSecret=eap-secrets',
      'config.llmProxyUrl=http://litellm.llm:4000',
      'monitoring.labels.release=kube-prometheus-stack',
      'monitoring.serviceMonitor.useMetricsToken=true',
      'config.otlpEndpoint=http://opentelemetry-collector.observability:4317',
    ],
    apiVersions: [OPERATOR_API],
  },
  'everything on the API port (managementPort=null)': {
    set: [...CREDENTIALS, 'managementPort=null'],
    apiVersions: [OPERATOR_API],
  },
  'another management port': {
    set: [...CREDENTIALS, 'managementPort=9100'],
    apiVersions: [OPERATOR_API],
  },
  'a metrics token in the chart Secret (secrets.metricsToken)': {
    set: ['replicaCount=1', 'secrets.metricsToken=s3cr3t'],
    apiVersions: [OPERATOR_API],
  },
  'a metrics token in an existing Secret (useMetricsToken)': {
    set: ['secrets.existingSecret=eap-secrets', 'monitoring.serviceMonitor.useMetricsToken=true'],
    apiVersions: [OPERATOR_API],
  },
  autoscaling: {
    set: [
      ...CREDENTIALS,
      'autoscaling.enabled=true',
      'autoscaling.minReplicas=3',
      'autoscaling.maxReplicas=6',
    ],
    apiVersions: [OPERATOR_API],
  },
  'monitoring forced on, rendered without a cluster (GitOps)': {
    set: [...CREDENTIALS, 'monitoring.enabled=true'],
  },
  'monitoring off on a cluster with the Prometheus Operator': {
    set: [...CREDENTIALS, 'monitoring.enabled=false'],
    apiVersions: [OPERATOR_API],
  },
  'as a subchart (global values from a parent chart)': {
    values: [{ global: { imageRegistry: 'registry.example.com' } }],
    set: ['replicaCount=1'],
  },
  'traces to a Collector at a --set ratio': {
    set: [
      ...CREDENTIALS,
      'config.otlpEndpoint=http://opentelemetry-collector.observability:4317',
      'config.traceSampleRatio=0.5',
    ],
  },
  'a LoadBalancer API Service': {
    set: [...CREDENTIALS, 'service.type=LoadBalancer'],
    apiVersions: [OPERATOR_API],
  },
  'every credential in the chart Secret': {
    set: [
      ...CREDENTIALS,
      'secrets.llmProxyApiKey=sk-test',
      'secrets.adminApiKey=admin-test',
      'secrets.metricsToken=metrics-test',
      'config.llmProxyUrl=http://litellm.llm:4000',
      'config.extraEnv.HEALTH_DISK_THRESHOLD=0.8',
    ],
    apiVersions: [OPERATOR_API],
  },
};
