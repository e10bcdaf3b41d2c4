{{/* Chart name, overridable. */}}
{{- define "eap.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart, unless the release already names the chart. */}}
{{- define "eap.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "eap.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Pod selector labels: stable across upgrades. */}}
{{- define "eap.selectorLabels" -}}
app.kubernetes.io/name: {{ include "eap.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Common labels. part-of is fixed: the ServiceMonitor takes the Prometheus `job`
label from it, and the alert rules and the dashboard select
job="enterprise-agent-platform", whatever the release is called.
*/}}
{{- define "eap.labels" -}}
helm.sh/chart: {{ include "eap.chart" . }}
{{ include "eap.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: enterprise-agent-platform
{{- end }}

{{- define "eap.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "eap.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret the pods read credentials from: yours, or the chart's. */}}
{{- define "eap.secretName" -}}
{{- default (include "eap.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "eap.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* "true" when the Prometheus Operator's objects are rendered, else empty. */}}
{{- define "eap.monitoring.enabled" -}}
{{- $mode := toString .Values.monitoring.enabled }}
{{- if eq $mode "true" }}true
{{- else if and (eq $mode "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") }}true
{{- end }}
{{- end }}

{{/* "true" when traces are exported: an endpoint is set and enableTelemetry is not false. */}}
{{- define "eap.telemetry.enabled" -}}
{{- $flag := .Values.config.enableTelemetry }}
{{- if kindIs "bool" $flag }}
{{- if and $flag .Values.config.otlpEndpoint }}true{{ end }}
{{- else if .Values.config.otlpEndpoint }}true
{{- end }}
{{- end }}

{{/*
"true" when the ServiceMonitor sends METRICS_TOKEN. The chart's own Secret
holds it exactly when secrets.metricsToken is set; the chart cannot see inside
an existing Secret, so there monitoring.serviceMonitor.useMetricsToken decides.
*/}}
{{- define "eap.metrics.useToken" -}}
{{- if .Values.secrets.existingSecret }}
{{- if .Values.monitoring.serviceMonitor.useMetricsToken }}true{{ end }}
{{- else if .Values.secrets.metricsToken }}true
{{- end }}
{{- end }}

{{/* A sample ratio as the app reads it: "0.5", "1", never "1e-05". */}}
{{- define "eap.ratio" -}}
{{- if kindIs "string" . }}{{ . }}
{{- else }}{{ regexReplaceAll "\\.?0+$" (printf "%.6f" (float64 .)) "" }}
{{- end }}
{{- end }}

{{/* A Prometheus duration (1h30m, 500ms) in milliseconds. */}}
{{- define "eap.durationMs" -}}
{{- $factors := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|y|w|d|h|m|s)" . -1 }}
{{- $amount := atoi (regexFind "^[0-9]+" .) }}
{{- $total = add $total (mul $amount (get $factors (regexReplaceAll "^[0-9]+" . ""))) }}
{{- end }}
{{- $total }}
{{- end }}

{{/* Variables the chart sets itself; config.extraEnv may not repeat them. */}}
{{- define "eap.chartVariables" -}}
NODE_ENV HOST PORT MANAGEMENT_PORT LOG_LEVEL LOG_FORMAT ENABLE_TELEMETRY OTLP_ENDPOINT TRACE_SAMPLE_RATIO LLM_PROXY_URL LLM_PROXY_HEALTH_PATH LLM_TIMEOUT_MS LLM_MAX_RETRIES METRICS_MAX_TENANTS METRICS_KNOWN_MODELS HEALTH_CHECK_TIMEOUT_MS SHUTDOWN_DRAIN_MS RUN_TIMEOUT_MS TENANT_MAX_CONCURRENT_RUNS HTTP_HEADERS_TIMEOUT_MS HTTP_REQUEST_TIMEOUT_MS HTTP_KEEP_ALIVE_TIMEOUT_MS REDIS_KEY_PREFIX
{{- end }}

{{/* Settings that render but cannot work: fail the install with the reason. */}}
{{- define "eap.validate" -}}
{{- $multi := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $multi (not .Values.secrets.existingSecret) (not .Values.secrets.redisUrl) }}
{{- fail "secrets.redisUrl (or secrets.existingSecret with REDIS_URL) is required for more than one replica: token budgets are shared through Redis" }}
{{- end }}
{{- if and $multi (not .Values.secrets.existingSecret) (not .Values.secrets.databaseUrl) }}
{{- fail "secrets.databaseUrl (or secrets.existingSecret with DATABASE_URL) is required for more than one replica: without it every pod has its own embedded database" }}
{{- end }}
{{- $neededSeconds := div (add (int64 .Values.config.shutdownDrainMs) (int64 .Values.config.runTimeoutMs) 999) 1000 }}
{{- if le (int64 .Values.terminationGracePeriodSeconds) $neededSeconds }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed config.shutdownDrainMs plus config.runTimeoutMs (%d s): a run still going when the grace period ends is killed" (int64 .Values.terminationGracePeriodSeconds) $neededSeconds) }}
{{- end }}
{{- if gt (int64 .Values.config.httpHeadersTimeoutMs) (int64 .Values.config.httpRequestTimeoutMs) }}
{{- fail (printf "config.httpHeadersTimeoutMs (%d) must not exceed config.httpRequestTimeoutMs (%d): the head is part of the request, and the app refuses to start otherwise" (int64 .Values.config.httpHeadersTimeoutMs) (int64 .Values.config.httpRequestTimeoutMs)) }}
{{- end }}
{{- if and .Values.managementPort (eq (int .Values.managementPort) (int .Values.containerPort)) }}
{{- fail (printf "managementPort must differ from containerPort (both %d): the app refuses to start with the API and the management listener on one port" (int .Values.containerPort)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- $serviceMonitor := .Values.monitoring.serviceMonitor }}
{{- if gt (int64 (include "eap.durationMs" $serviceMonitor.scrapeTimeout)) (int64 (include "eap.durationMs" $serviceMonitor.interval)) }}
{{- fail (printf "monitoring.serviceMonitor.scrapeTimeout (%s) must not exceed monitoring.serviceMonitor.interval (%s): Prometheus refuses the scrape configuration" $serviceMonitor.scrapeTimeout $serviceMonitor.interval) }}
{{- end }}
{{- if and (not .Values.secrets.existingSecret) $serviceMonitor.useMetricsToken (not .Values.secrets.metricsToken) }}
{{- fail "monitoring.serviceMonitor.useMetricsToken=true needs secrets.metricsToken (or secrets.existingSecret holding METRICS_TOKEN): the chart's Secret has no token to send" }}
{{- end }}
{{- if and (eq (toString .Values.config.enableTelemetry) "true") (not .Values.config.otlpEndpoint) }}
{{- fail "config.enableTelemetry=true needs config.otlpEndpoint (e.g. http://opentelemetry-collector.observability:4317): with nowhere to export, every span would be dropped" }}
{{- end }}
{{- $chartVariables := splitList " " (include "eap.chartVariables" .) }}
{{- range $name, $_ := .Values.config.extraEnv }}
{{- if has $name $chartVariables }}
{{- fail (printf "config.extraEnv.%s: the chart sets %s itself; use its config.* value" $name $name) }}
{{- end }}
{{- if has $name (list "DATABASE_URL" "REDIS_URL" "LLM_PROXY_API_KEY" "ADMIN_API_KEY" "METRICS_TOKEN") }}
{{- fail (printf "config.extraEnv.%s: credentials belong in the Secret (secrets.* or secrets.existingSecret), not in the ConfigMap" $name) }}
{{- end }}
{{- end }}
{{- end }}
