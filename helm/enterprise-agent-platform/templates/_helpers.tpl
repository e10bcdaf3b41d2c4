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

{{/* Settings that render but cannot work: fail the install with the reason. */}}
{{- define "eap.validate" -}}
{{- $multi := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $multi (not .Values.secrets.existingSecret) (not .Values.secrets.redisUrl) }}
{{- fail "secrets.redisUrl (or secrets.existingSecret with REDIS_URL) is required for more than one replica: token budgets are shared through Redis" }}
{{- end }}
{{- if and $multi (not .Values.secrets.existingSecret) (not .Values.secrets.databaseUrl) }}
{{- fail "secrets.databaseUrl (or secrets.existingSecret with DATABASE_URL) is required for more than one replica: without it every pod has its own embedded database" }}
{{- end }}
{{- $drainSeconds := div (int .Values.config.shutdownDrainMs) 1000 }}
{{- if le (int .Values.terminationGracePeriodSeconds) (add $drainSeconds 300) }}
{{- fail "terminationGracePeriodSeconds must exceed config.shutdownDrainMs plus the longest agent run (300 s)" }}
{{- end }}
{{- end }}
